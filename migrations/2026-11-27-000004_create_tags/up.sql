-- Tags belong to one user; names are unique per user regardless of case.
create table tags (
    id uuid not null,
    owner_id uuid not null,
    name text not null,
    colour text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint tags_pkey primary key (id),
    constraint tags_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint tags_name_length check (char_length(name) between 1 and 50),
    constraint tags_colour_check check (colour ~ '^#[0-9a-f]{6}$')
);

create unique index tags_owner_name_key on tags (owner_id, lower(name));
select diesel_manage_updated_at('tags');

create table recipe_tags (
    recipe_id uuid not null,
    tag_id uuid not null,
    constraint recipe_tags_pkey primary key (recipe_id, tag_id),
    constraint recipe_tags_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade,
    constraint recipe_tags_tag_id_fkey foreign key (tag_id) references tags (id) on delete cascade
);

create index recipe_tags_tag_id_idx on recipe_tags (tag_id);
