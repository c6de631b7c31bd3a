-- The recipe catalogue's core: recipes with ordered, structured ingredients and steps.
-- Everything a user owns goes when the user goes (on delete cascade from users).

create table recipes (
    id uuid not null,
    owner_id uuid not null,
    title text not null,
    description text,
    prep_minutes integer,
    cook_minutes integer,
    total_minutes integer,
    servings numeric(9, 3),
    yield_text text,
    source_type text not null default 'MANUAL',
    source_url text,
    visibility text not null default 'PRIVATE',
    version integer not null default 1,
    search_vector tsvector generated always as (
        setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(description, '')), 'B')
    ) stored,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint recipes_pkey primary key (id),
    constraint recipes_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint recipes_title_length check (char_length(title) between 1 and 200),
    constraint recipes_description_length check (char_length(description) <= 10000),
    constraint recipes_minutes_non_negative check (
        coalesce(prep_minutes, 0) >= 0 and coalesce(cook_minutes, 0) >= 0 and coalesce(total_minutes, 0) >= 0
    ),
    constraint recipes_servings_positive check (servings > 0),
    constraint recipes_yield_text_length check (char_length(yield_text) <= 200),
    constraint recipes_source_type_check check (source_type in ('MANUAL', 'WEBSITE', 'INSTAGRAM', 'IMAGE')),
    constraint recipes_source_url_check check (source_url ~ '^https?://' and char_length(source_url) <= 2048),
    constraint recipes_visibility_check check (visibility in ('PRIVATE', 'UNLISTED', 'PUBLIC'))
);

create index recipes_owner_updated_idx on recipes (owner_id, updated_at desc, id);
create index recipes_search_vector_idx on recipes using gin (search_vector);
select diesel_manage_updated_at('recipes');

create table recipe_ingredients (
    id uuid not null,
    recipe_id uuid not null,
    position integer not null,
    section text,
    quantity numeric(14, 4),
    quantity_max numeric(14, 4),
    unit text,
    item text not null,
    note text,
    original_text text not null,
    constraint recipe_ingredients_pkey primary key (id),
    constraint recipe_ingredients_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade,
    constraint recipe_ingredients_recipe_position_key unique (recipe_id, position),
    constraint recipe_ingredients_lengths check (
        char_length(item) <= 500 and char_length(original_text) <= 500
        and char_length(note) <= 500 and char_length(section) <= 200 and char_length(unit) <= 32
    ),
    constraint recipe_ingredients_quantity_non_negative check (quantity >= 0 and quantity_max >= quantity)
);

create table recipe_steps (
    id uuid not null,
    recipe_id uuid not null,
    position integer not null,
    section text,
    text text not null,
    constraint recipe_steps_pkey primary key (id),
    constraint recipe_steps_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade,
    constraint recipe_steps_recipe_position_key unique (recipe_id, position),
    constraint recipe_steps_lengths check (char_length(text) between 1 and 5000 and char_length(section) <= 200)
);
