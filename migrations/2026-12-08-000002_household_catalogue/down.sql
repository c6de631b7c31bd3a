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
    return true;
end
$$;

drop trigger media_record_tombstone on media;
drop function record_image_tombstone();
create trigger media_record_tombstone after delete on media
    for each row when (old.status <> 'REJECTED') execute function record_tombstone('IMAGE');
drop trigger recipes_record_tombstone on recipes;
drop trigger tags_record_tombstone on tags;
drop trigger collections_record_tombstone on collections;
create trigger recipes_record_tombstone after delete on recipes
    for each row execute function record_tombstone('RECIPE');
create trigger tags_record_tombstone after delete on tags
    for each row execute function record_tombstone('TAG');
create trigger collections_record_tombstone after delete on collections
    for each row execute function record_tombstone('COLLECTION');

-- What households shared of the catalogue goes with them (as their lists and plans do going down).
delete from recipes where household_id is not null;
delete from tags where household_id is not null;
delete from collections where household_id is not null;

drop trigger recipes_counted_on_move on recipes;
drop function recipe_counts_move();
delete from recipe_counts;
alter table recipe_counts rename column set_id to owner_id;
insert into recipe_counts (owner_id, n) select owner_id, count(*) from recipes group by owner_id;
alter table recipe_counts add constraint recipe_counts_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade;
create or replace function recipe_counts_add() returns trigger language plpgsql as $$
BEGIN
    INSERT INTO recipe_counts (owner_id, n)
    SELECT owner_id, count(*) FROM added GROUP BY owner_id
    ON CONFLICT (owner_id) DO UPDATE SET n = recipe_counts.n + excluded.n;
    RETURN NULL;
END
$$;
create or replace function recipe_counts_remove() returns trigger language plpgsql as $$
BEGIN
    UPDATE recipe_counts c SET n = c.n - gone.n
    FROM (SELECT owner_id, count(*) AS n FROM removed GROUP BY owner_id) gone
    WHERE c.owner_id = gone.owner_id;
    RETURN NULL;
END
$$;

drop index collections_household_name_key;
drop index collections_owner_name_key;
alter table collections drop column household_id;
alter table collections add constraint collections_owner_name_key unique (owner_id, name);
drop index tags_household_name_key;
drop index tags_owner_name_key;
alter table tags drop column household_id;
create unique index tags_owner_name_key on tags (owner_id, lower(name));
alter table recipes drop column household_id;
