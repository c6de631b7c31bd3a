-- Households: people of one home share shopping lists and meal plans and see each other's changes live. A household has
-- one OWNER and up to 20 members in all; invites are single-use, expiring and revocable, and only the
-- SHA-256 of an invite's code is stored. A shared object is visible to the household's members (and to
-- nobody else, its creator included once they leave); a personal one to its owner only.
create table households (
    id uuid not null,
    name text not null,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint households_pkey primary key (id),
    constraint households_name_length check (char_length(name) between 1 and 255)
);
select diesel_manage_updated_at('households');

create table household_members (
    household_id uuid not null,
    user_id uuid not null,
    role text not null,
    joined_at timestamptz not null default clock_timestamp(),
    constraint household_members_pkey primary key (household_id, user_id),
    constraint household_members_household_id_fkey foreign key (household_id) references households (id) on delete cascade,
    constraint household_members_user_id_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint household_members_role_check check (role in ('OWNER', 'MEMBER'))
);
create index household_members_user_id_idx on household_members (user_id);
create unique index household_members_one_owner on household_members (household_id) where role = 'OWNER';

create table household_invites (
    id uuid not null,
    household_id uuid not null,
    code_sha256 bytea not null,
    created_by uuid not null,
    expires_at timestamptz not null,
    accepted_by uuid,
    accepted_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    constraint household_invites_pkey primary key (id),
    constraint household_invites_code_key unique (code_sha256),
    constraint household_invites_household_id_fkey foreign key (household_id) references households (id) on delete cascade,
    constraint household_invites_created_by_fkey foreign key (created_by) references users (id) on delete cascade,
    constraint household_invites_accepted_by_fkey foreign key (accepted_by) references users (id) on delete set null
);
create index household_invites_household_idx on household_invites (household_id, created_at desc);

-- Shopping lists (and, denormalised so that every item query has the same scope, their items) belong to a
-- household or to their owner alone. `version` counts every change of the list's items, so that a client
-- that saw version N knows whether it missed one.
alter table shopping_lists
    add column household_id uuid,
    add column version integer not null default 1,
    add constraint shopping_lists_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
create index shopping_lists_household_created_idx on shopping_lists (household_id, id desc) where household_id is not null;
alter table shopping_list_items
    add column household_id uuid,
    add constraint shopping_list_items_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
create index shopping_list_items_household_idx on shopping_list_items (household_id) where household_id is not null;

-- Meal plans (and their entries, denormalised like list items) likewise. The active plan is per household, or
-- personal for one's own plans: one of each at most, enforced here.
alter table meal_plans
    add column household_id uuid,
    add constraint meal_plans_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
create index meal_plans_household_created_idx on meal_plans (household_id, id desc) where household_id is not null;
drop index meal_plans_one_active_per_owner;
create unique index meal_plans_one_active_per_owner on meal_plans (owner_id) where active and household_id is null;
create unique index meal_plans_one_active_per_household on meal_plans (household_id) where active;
alter table meal_plan_entries
    add column household_id uuid,
    add constraint meal_plan_entries_household_id_fkey foreign key (household_id) references households (id) on delete cascade;
create index meal_plan_entries_household_idx on meal_plan_entries (household_id) where household_id is not null;

-- Deletions of shared objects reach every member through `changes`; "you are no longer in this household"
-- is a HOUSEHOLD tombstone of the member's own.
alter table tombstones add column household_id uuid;
create index tombstones_household_deleted_at_idx on tombstones (household_id, deleted_at) where household_id is not null;
alter table tombstones drop constraint tombstones_kind_check;
alter table tombstones add constraint tombstones_kind_check check (
    kind in ('RECIPE', 'TAG', 'COLLECTION', 'IMAGE', 'MEAL_PLAN', 'MEAL_PLAN_ENTRY', 'SHOPPING_LIST',
             'SHOPPING_LIST_ITEM', 'HOUSEHOLD')
);

create function record_shared_tombstone() returns trigger language plpgsql as $$
begin
    insert into tombstones (owner_id, household_id, kind, object_id)
        values (old.owner_id, old.household_id, tg_argv[0], old.id);
    return null;
end
$$;
drop trigger shopping_lists_record_tombstone on shopping_lists;
drop trigger shopping_list_items_record_tombstone on shopping_list_items;
create trigger shopping_lists_record_tombstone after delete on shopping_lists
    for each row execute function record_shared_tombstone('SHOPPING_LIST');
create trigger shopping_list_items_record_tombstone after delete on shopping_list_items
    for each row execute function record_shared_tombstone('SHOPPING_LIST_ITEM');
drop trigger meal_plans_record_tombstone on meal_plans;
drop trigger meal_plan_entries_record_tombstone on meal_plan_entries;
create trigger meal_plans_record_tombstone after delete on meal_plans
    for each row execute function record_shared_tombstone('MEAL_PLAN');
create trigger meal_plan_entries_record_tombstone after delete on meal_plan_entries
    for each row execute function record_shared_tombstone('MEAL_PLAN_ENTRY');

create function record_departure() returns trigger language plpgsql as $$
begin
    insert into tombstones (owner_id, kind, object_id) values (old.user_id, 'HOUSEHOLD', old.household_id);
    return null;
end
$$;
create trigger household_members_record_departure after delete on household_members
    for each row execute function record_departure();

-- Live updates. Every change of a list's items, by any path and from any instance, bumps the list's version
-- once per statement and notifies `homechef_live` with ids and versions only (subscribers re-read with their
-- viewer's scope). A checked/unchecked item keeps its version, which is how CHECKED is told from UPDATED.
create function shopping_list_items_changed() returns trigger language plpgsql as $$
declare
    action text := case tg_op when 'INSERT' then 'ADDED' when 'DELETE' then 'REMOVED' else 'UPDATED' end;
    changed_list uuid;
    ids uuid[];
    list_version integer;
begin
    if tg_op = 'UPDATE' then
        if not exists (select 1 from changed n join before o on o.id = n.id where n.version <> o.version) then
            action := 'CHECKED';
        end if;
    end if;
    for changed_list, ids in select list_id, array_agg(id order by position) from changed group by list_id loop
        update shopping_lists set version = version + 1 where id = changed_list returning version into list_version;
        if found then
            perform pg_notify('homechef_live', json_build_object(
                'kind', 'SHOPPING_LIST', 'id', changed_list, 'version', list_version, 'action', action,
                'items', case when cardinality(ids) <= 100 then ids else '{}' end
            )::text);
        end if;
    end loop;
    return null;
end
$$;
create trigger shopping_list_items_added after insert on shopping_list_items
    referencing new table as changed
    for each statement execute function shopping_list_items_changed();
create trigger shopping_list_items_updated after update on shopping_list_items
    referencing old table as before new table as changed
    for each statement execute function shopping_list_items_changed();
create trigger shopping_list_items_removed after delete on shopping_list_items
    referencing old table as changed
    for each statement execute function shopping_list_items_changed();

create function shopping_list_gone() returns trigger language plpgsql as $$
begin
    perform pg_notify('homechef_live', json_build_object(
        'kind', 'SHOPPING_LIST', 'id', old.id, 'version', old.version + 1, 'action', 'DELETED',
        'household', old.household_id
    )::text);
    return null;
end
$$;
create trigger shopping_lists_gone after delete on shopping_lists
    for each row execute function shopping_list_gone();

-- A plan's entries added, moved or removed, or the plan itself edited or deleted: `mealPlanChanged`.
create function meal_plan_entries_changed() returns trigger language plpgsql as $$
declare
    action text := case tg_op when 'INSERT' then 'ADDED' when 'DELETE' then 'REMOVED' else 'UPDATED' end;
    changed_plan uuid;
begin
    -- A plan being deleted says so itself (its entries go first, by cascade).
    for changed_plan in select distinct plan_id from changed where plan_id in (select id from meal_plans) loop
        perform pg_notify('homechef_live', json_build_object(
            'kind', 'MEAL_PLAN', 'id', changed_plan, 'action', action
        )::text);
    end loop;
    return null;
end
$$;
create trigger meal_plan_entries_added after insert on meal_plan_entries
    referencing new table as changed
    for each statement execute function meal_plan_entries_changed();
create trigger meal_plan_entries_updated after update on meal_plan_entries
    referencing new table as changed
    for each statement execute function meal_plan_entries_changed();
create trigger meal_plan_entries_removed after delete on meal_plan_entries
    referencing old table as changed
    for each statement execute function meal_plan_entries_changed();

create function meal_plan_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('homechef_live', json_build_object(
        'kind', 'MEAL_PLAN', 'id', old.id,
        'action', case tg_op when 'DELETE' then 'DELETED' else 'PLAN_UPDATED' end
    )::text);
    return null;
end
$$;
create trigger meal_plans_changed after update or delete on meal_plans
    for each row execute function meal_plan_changed();

-- Membership and household changes: `householdChanged`, and the sockets of a removed member are closed.
create function household_changed() returns trigger language plpgsql as $$
declare
    row_household uuid;
    departed uuid;
begin
    if tg_table_name = 'households' then
        row_household := coalesce(new.id, old.id);
    elsif tg_op = 'DELETE' then
        row_household := old.household_id;
        departed := old.user_id;
    else
        row_household := new.household_id;
    end if;
    perform pg_notify('homechef_live', json_build_object(
        'kind', 'HOUSEHOLD', 'id', row_household, 'departed', departed
    )::text);
    return null;
end
$$;
create trigger households_changed after update or delete on households
    for each row execute function household_changed();
create trigger household_members_changed after insert or update or delete on household_members
    for each row execute function household_changed();

-- A member leaves (or is removed, or deletes their account): the household stays for the others. Ownership
-- passes to the oldest other member when the owner goes, and the shared objects the member created are handed
-- to the household's owner. A household nobody is left in goes, with its shared objects. Returns whether the
-- member was in the household.
create function leave_household(left_household uuid, leaver uuid) returns boolean language plpgsql as $$
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

-- Deleting an account, by any path (deleteAccount, Clerk's user.deleted), leaves every household first.
create function users_leave_households() returns trigger language plpgsql as $$
declare
    left_household uuid;
begin
    for left_household in select household_id from household_members where user_id = old.id loop
        perform leave_household(left_household, old.id);
    end loop;
    return old;
end
$$;
create trigger users_leave_households before delete on users
    for each row execute function users_leave_households();
