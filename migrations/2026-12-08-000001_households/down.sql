drop trigger users_leave_households on users;
drop function users_leave_households();
drop function leave_household(uuid, uuid);
drop trigger shopping_lists_gone on shopping_lists;
drop function shopping_list_gone();
drop trigger shopping_list_items_added on shopping_list_items;
drop trigger shopping_list_items_updated on shopping_list_items;
drop trigger shopping_list_items_removed on shopping_list_items;
drop function shopping_list_items_changed();
drop trigger meal_plans_changed on meal_plans;
drop function meal_plan_changed();
drop trigger meal_plan_entries_added on meal_plan_entries;
drop trigger meal_plan_entries_updated on meal_plan_entries;
drop trigger meal_plan_entries_removed on meal_plan_entries;
drop function meal_plan_entries_changed();
drop trigger meal_plans_record_tombstone on meal_plans;
drop trigger meal_plan_entries_record_tombstone on meal_plan_entries;
create trigger meal_plans_record_tombstone after delete on meal_plans
    for each row execute function record_tombstone('MEAL_PLAN');
create trigger meal_plan_entries_record_tombstone after delete on meal_plan_entries
    for each row execute function record_tombstone('MEAL_PLAN_ENTRY');
drop trigger shopping_lists_record_tombstone on shopping_lists;
drop trigger shopping_list_items_record_tombstone on shopping_list_items;
create trigger shopping_lists_record_tombstone after delete on shopping_lists
    for each row execute function record_tombstone('SHOPPING_LIST');
create trigger shopping_list_items_record_tombstone after delete on shopping_list_items
    for each row execute function record_tombstone('SHOPPING_LIST_ITEM');
drop function record_shared_tombstone();
delete from tombstones where kind = 'HOUSEHOLD' or household_id is not null;
alter table tombstones drop constraint tombstones_kind_check;
alter table tombstones add constraint tombstones_kind_check check (
    kind in ('RECIPE', 'TAG', 'COLLECTION', 'IMAGE', 'MEAL_PLAN', 'MEAL_PLAN_ENTRY', 'SHOPPING_LIST', 'SHOPPING_LIST_ITEM')
);
alter table tombstones drop column household_id;
delete from shopping_lists where household_id is not null;
delete from meal_plans where household_id is not null;
drop index meal_plans_one_active_per_household;
drop index meal_plans_one_active_per_owner;
create unique index meal_plans_one_active_per_owner on meal_plans (owner_id) where active;
alter table meal_plan_entries drop column household_id;
alter table meal_plans drop column household_id;
alter table shopping_list_items drop column household_id;
alter table shopping_lists drop column household_id, drop column version;
drop table household_invites;
drop table household_members;
drop table households;
drop function household_changed();
drop function record_departure();
