-- Collections: a user's named groups of recipes; one many-to-many table with an order.
create table collections (
    id uuid not null,
    owner_id uuid not null,
    name text not null,
    description text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint collections_pkey primary key (id),
    constraint collections_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint collections_owner_name_key unique (owner_id, name),
    constraint collections_name_length check (char_length(name) between 1 and 255),
    constraint collections_description_length check (char_length(description) <= 1000)
);

select diesel_manage_updated_at('collections');

create table collection_recipes (
    collection_id uuid not null,
    recipe_id uuid not null,
    position integer not null,
    added_at timestamptz not null default now(),
    constraint collection_recipes_pkey primary key (collection_id, recipe_id),
    constraint collection_recipes_collection_id_fkey foreign key (collection_id) references collections (id) on delete cascade,
    constraint collection_recipes_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade
);

create index collection_recipes_recipe_id_idx on collection_recipes (recipe_id);
