drop table shopping_list_items;
drop table shopping_lists;
drop table meal_plan_entries;
drop table meal_plans;
delete from tombstones where kind in ('MEAL_PLAN', 'MEAL_PLAN_ENTRY', 'SHOPPING_LIST', 'SHOPPING_LIST_ITEM');
alter table tombstones drop constraint tombstones_kind_check;
alter table tombstones add constraint tombstones_kind_check check (kind in ('RECIPE', 'TAG', 'COLLECTION', 'IMAGE'));
