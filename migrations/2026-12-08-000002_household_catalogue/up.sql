-- Recipes, tags and collections belong to a household or to their owner alone, like shopping lists and meal
-- plans. A tag or collection is of one set (a person's own, or one household's), and holds only that set's
-- recipes: names are unique within a set, and a recipe moved to another set takes its tags by name.
alter table recipes
    add column household_id uuid,
    add constraint recipes_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
-- A household's catalogue is listed in the same orders as a person's (see recipe_sort_indexes).
create index recipes_household_updated_idx on recipes (household_id, updated_at desc, id desc)
    where household_id is not null;
create index recipes_household_created_idx on recipes (household_id, created_at desc, id desc)
    where household_id is not null;
create index recipes_household_title_idx on recipes (household_id, title, id) where household_id is not null;
create index recipes_household_total_time_idx on recipes (household_id, (coalesce(total_minutes, 2147483647)), id)
    where household_id is not null;

alter table tags
    add column household_id uuid,
    add constraint tags_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
drop index tags_owner_name_key;
create unique index tags_owner_name_key on tags (owner_id, lower(name)) where household_id is null;
create unique index tags_household_name_key on tags (household_id, lower(name)) where household_id is not null;

alter table collections
    add column household_id uuid,
    add constraint collections_household_id_fkey foreign key (household_id) references households (id) on delete cascade,
    drop constraint collections_owner_name_key;
create unique index collections_owner_name_key on collections (owner_id, name) where household_id is null;
create unique index collections_household_name_key on collections (household_id, name) where household_id is not null;

-- The counter behind an unfiltered `totalCount` counts one set: a person's own recipes (keyed by the user's id) or
-- a household's (by its id); a set's row goes when it reaches zero. Moving a recipe moves it between counters.
alter table recipe_counts drop constraint recipe_counts_owner_id_fkey;
alter table recipe_counts rename column owner_id to set_id;
delete from recipe_counts;
insert into recipe_counts (set_id, n)
    select coalesce(household_id, owner_id), count(*) from recipes group by coalesce(household_id, owner_id);

create or replace function recipe_counts_add() returns trigger language plpgsql as $$
begin
    insert into recipe_counts (set_id, n)
    select coalesce(household_id, owner_id), count(*) from added group by coalesce(household_id, owner_id)
    on conflict (set_id) do update set n = recipe_counts.n + excluded.n;
    return null;
end
$$;

create or replace function recipe_counts_remove() returns trigger language plpgsql as $$
begin
    with gone as (
        select coalesce(household_id, owner_id) as set_id, count(*) as n from removed
        group by coalesce(household_id, owner_id)
    ), counted as (
        update recipe_counts c set n = c.n - gone.n from gone where c.set_id = gone.set_id returning c.set_id, c.n
    )
    delete from recipe_counts c using counted where c.set_id = counted.set_id and counted.n = 0;
    return null;
end
$$;

create function recipe_counts_move() returns trigger language plpgsql as $$
begin
    insert into recipe_counts (set_id, n)
    select coalesce(n.household_id, n.owner_id), count(*)
      from moved_to n join moved_from o on o.id = n.id
     where o.household_id is distinct from n.household_id
     group by coalesce(n.household_id, n.owner_id)
    on conflict (set_id) do update set n = recipe_counts.n + excluded.n;
    with gone as (
        select coalesce(o.household_id, o.owner_id) as set_id, count(*) as n
          from moved_from o join moved_to n on n.id = o.id
         where o.household_id is distinct from n.household_id
         group by coalesce(o.household_id, o.owner_id)
    ), counted as (
        update recipe_counts c set n = c.n - gone.n from gone where c.set_id = gone.set_id returning c.set_id, c.n
    )
    delete from recipe_counts c using counted where c.set_id = counted.set_id and counted.n = 0;
    return null;
end
$$;
create trigger recipes_counted_on_move after update on recipes
    referencing old table as moved_from new table as moved_to
    for each statement execute function recipe_counts_move();

-- Deletions of a household's recipes, tags and collections reach every member through `changes`; an image's
-- deletion is the recipe's household's when the recipe is still there (when it is not, its RECIPE tombstone is).
drop trigger recipes_record_tombstone on recipes;
drop trigger tags_record_tombstone on tags;
drop trigger collections_record_tombstone on collections;
create trigger recipes_record_tombstone after delete on recipes
    for each row execute function record_shared_tombstone('RECIPE');
create trigger tags_record_tombstone after delete on tags
    for each row execute function record_shared_tombstone('TAG');
create trigger collections_record_tombstone after delete on collections
    for each row execute function record_shared_tombstone('COLLECTION');
create function record_image_tombstone() returns trigger language plpgsql as $$
begin
    insert into tombstones (owner_id, household_id, kind, object_id)
        values (old.owner_id, (select household_id from recipes where id = old.recipe_id), 'IMAGE', old.id);
    return null;
end
$$;
drop trigger media_record_tombstone on media;
create trigger media_record_tombstone after delete on media
    for each row when (old.status <> 'REJECTED') execute function record_image_tombstone();

-- Leaving hands the leaver's part of the household's catalogue to its owner too: the recipes, tags and
-- collections they made in it, and the images they added to its recipes.
create or replace function leave_household(left_household uuid, leaver uuid) returns boolean language plpgsql as $$
declare
    heir uuid;
begin
    perform 1 from households where id = left_household for update;
    if not exists (select 1 from household_members where household_id = left_household and user_id = leaver) then
        return false;
    end if;
    select user_id into heir from household_members
        where household_id = left_household and user_id <> leaver
        order by (role = 'OWNER') desc, joined_at, user_id limit 1;
    if heir is null then
        delete from households where id = left_household;
        return true;
    end if;
    delete from household_members where household_id = left_household and user_id = leaver;
    update household_members set role = 'OWNER'
        where household_id = left_household and user_id = heir and role <> 'OWNER'
          and not exists (select 1 from household_members where household_id = left_household and role = 'OWNER');
    select user_id into heir from household_members where household_id = left_household and role = 'OWNER';
    update shopping_lists set owner_id = heir where household_id = left_household and owner_id = leaver;
    update shopping_list_items set owner_id = heir where household_id = left_household and owner_id = leaver;
    update meal_plans set owner_id = heir where household_id = left_household and owner_id = leaver;
    update meal_plan_entries set owner_id = heir where household_id = left_household and owner_id = leaver;
    update recipes set owner_id = heir where household_id = left_household and owner_id = leaver;
    update tags set owner_id = heir where household_id = left_household and owner_id = leaver;
    update collections set owner_id = heir where household_id = left_household and owner_id = leaver;
    update media set owner_id = heir
        where owner_id = leaver and recipe_id in (select id from recipes where household_id = left_household);
    return true;
end
$$;
