-- Meal plans and shopping lists. A plan is either a calendar (entries on dates) or a rotation of 1 to 8
-- weeks (entries on a week of the rotation and a weekday, repeated from the start date on). At most one
-- plan per user is active, enforced here by a partial unique index. Entries point at recipes the user owns;
-- deleting a recipe deletes its entries (a plan never blocks it). Shopping lists are saved snapshots of what
-- a date range of a plan needs, with items two people can tick off at once. Everything goes with its user.

create table meal_plans (
    id uuid not null,
    owner_id uuid not null,
    name text not null,
    start_date date not null,
    end_date date,
    weeks integer,
    active boolean not null default false,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint meal_plans_pkey primary key (id),
    constraint meal_plans_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint meal_plans_name_length check (char_length(name) between 1 and 255),
    constraint meal_plans_dates check (end_date >= start_date),
    constraint meal_plans_weeks_range check (weeks between 1 and 8)
);

create index meal_plans_owner_created_idx on meal_plans (owner_id, id desc);
create unique index meal_plans_one_active_per_owner on meal_plans (owner_id) where active;
select diesel_manage_updated_at('meal_plans');

create table meal_plan_entries (
    id uuid not null,
    plan_id uuid not null,
    owner_id uuid not null,
    day date,
    week integer,
    weekday integer,
    meal text not null,
    recipe_id uuid,
    note text,
    servings numeric(9, 3),
    created_at timestamptz not null default now(),
    constraint meal_plan_entries_pkey primary key (id),
    constraint meal_plan_entries_plan_id_fkey foreign key (plan_id) references meal_plans (id) on delete cascade,
    constraint meal_plan_entries_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint meal_plan_entries_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade,
    constraint meal_plan_entries_when check (
        (day is not null and week is null and weekday is null)
        or (day is null and week between 1 and 8 and weekday between 1 and 7)
    ),
    constraint meal_plan_entries_meal_check check (meal in ('BREAKFAST', 'LUNCH', 'DINNER', 'SNACK')),
    constraint meal_plan_entries_what check (recipe_id is not null or note is not null),
    constraint meal_plan_entries_note_length check (char_length(note) <= 500),
    constraint meal_plan_entries_servings_positive check (servings > 0)
);

create index meal_plan_entries_plan_idx on meal_plan_entries (plan_id, day, week, weekday);
create index meal_plan_entries_recipe_id_idx on meal_plan_entries (recipe_id);
create index meal_plan_entries_owner_id_idx on meal_plan_entries (owner_id);

create table shopping_lists (
    id uuid not null,
    owner_id uuid not null,
    name text not null,
    from_date date not null,
    to_date date not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint shopping_lists_pkey primary key (id),
    constraint shopping_lists_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint shopping_lists_name_length check (char_length(name) between 1 and 255),
    constraint shopping_lists_dates check (to_date >= from_date)
);

create index shopping_lists_owner_created_idx on shopping_lists (owner_id, id desc);
select diesel_manage_updated_at('shopping_lists');

create table shopping_list_items (
    id uuid not null,
    list_id uuid not null,
    owner_id uuid not null,
    position integer not null,
    quantity numeric(14, 4),
    unit text,
    item text not null,
    note text,
    checked boolean not null default false,
    recipe_ids uuid[] not null default '{}',
    recipe_titles text[] not null default '{}',
    version integer not null default 1,
    updated_at timestamptz not null default now(),
    constraint shopping_list_items_pkey primary key (id),
    constraint shopping_list_items_list_id_fkey foreign key (list_id) references shopping_lists (id) on delete cascade,
    constraint shopping_list_items_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint shopping_list_items_lengths check (
        char_length(item) between 1 and 500 and char_length(note) <= 500 and char_length(unit) <= 32
    ),
    constraint shopping_list_items_quantity_non_negative check (quantity >= 0)
);

create index shopping_list_items_list_idx on shopping_list_items (list_id, position);
create index shopping_list_items_owner_id_idx on shopping_list_items (owner_id);
select diesel_manage_updated_at('shopping_list_items');

-- Deletions reach offline clients through `changes` like the catalogue's.
alter table tombstones drop constraint tombstones_kind_check;
alter table tombstones add constraint tombstones_kind_check check (
    kind in ('RECIPE', 'TAG', 'COLLECTION', 'IMAGE', 'MEAL_PLAN', 'MEAL_PLAN_ENTRY', 'SHOPPING_LIST', 'SHOPPING_LIST_ITEM')
);
create trigger meal_plans_record_tombstone after delete on meal_plans
    for each row execute function record_tombstone('MEAL_PLAN');
create trigger meal_plan_entries_record_tombstone after delete on meal_plan_entries
    for each row execute function record_tombstone('MEAL_PLAN_ENTRY');
create trigger shopping_lists_record_tombstone after delete on shopping_lists
    for each row execute function record_tombstone('SHOPPING_LIST');
create trigger shopping_list_items_record_tombstone after delete on shopping_list_items
    for each row execute function record_tombstone('SHOPPING_LIST_ITEM');
