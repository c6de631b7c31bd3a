-- One index per list order, matching (sort value, id) in both columns' direction so a page is an index range
-- scan (the reverse direction is the same index read backwards).
drop index recipes_owner_updated_idx;
create index recipes_owner_updated_idx on recipes (owner_id, updated_at desc, id desc);
create index recipes_owner_created_idx on recipes (owner_id, created_at desc, id desc);
create index recipes_owner_title_idx on recipes (owner_id, title, id);
create index recipes_owner_total_time_idx on recipes (owner_id, (coalesce(total_minutes, 2147483647)), id);
