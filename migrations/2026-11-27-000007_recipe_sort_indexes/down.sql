drop index recipes_owner_total_time_idx;
drop index recipes_owner_title_idx;
drop index recipes_owner_created_idx;
drop index recipes_owner_updated_idx;
create index recipes_owner_updated_idx on recipes (owner_id, updated_at desc, id);
