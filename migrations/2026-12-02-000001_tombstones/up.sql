-- What was deleted, so that an offline client (the PWA) can drop it too: one row per deleted recipe, tag,
-- collection or image (rejected uploads were never shown and are not recorded), written by triggers, so that
-- every path records them: mutations, cascades, and the deletion of a user by webhook. No foreign keys: a
-- tombstone outlives what it records. Purged after TOMBSTONE_RETENTION_DAYS by the maintenance run.
create table tombstones (
    id bigserial primary key,
    owner_id uuid not null,
    kind text not null constraint tombstones_kind_check check (kind in ('RECIPE', 'TAG', 'COLLECTION', 'IMAGE')),
    object_id uuid not null,
    deleted_at timestamptz not null default now()
);
create index tombstones_owner_deleted_at_idx on tombstones (owner_id, deleted_at);
create index tombstones_deleted_at_idx on tombstones (deleted_at);

create function record_tombstone() returns trigger language plpgsql as $$
begin
    insert into tombstones (owner_id, kind, object_id) values (old.owner_id, tg_argv[0], old.id);
    return null;
end
$$;

create trigger recipes_record_tombstone after delete on recipes
    for each row execute function record_tombstone('RECIPE');
create trigger tags_record_tombstone after delete on tags
    for each row execute function record_tombstone('TAG');
create trigger collections_record_tombstone after delete on collections
    for each row execute function record_tombstone('COLLECTION');
create trigger media_record_tombstone after delete on media
    for each row when (old.status <> 'REJECTED') execute function record_tombstone('IMAGE');
