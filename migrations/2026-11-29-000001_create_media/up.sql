-- Uploaded images. A row is written once its file has been scanned: PROMOTED rows have re-encoded variants
-- under MEDIA_DIR, QUARANTINED rows keep the upload in QUARANTINE_DIR (named by the row id) until an admin
-- releases or deletes it, REJECTED rows keep no file at all (they stay for quotas and audit until retention).
create table media (
    id uuid not null,
    owner_id uuid not null,
    recipe_id uuid not null,
    status text not null,
    position integer not null default 0,
    is_cover boolean not null default false,
    declared_type text,
    sniffed_type text,
    size_bytes bigint not null,
    sha256 text not null,
    width integer,
    height integer,
    score integer not null,
    findings jsonb not null default '[]',
    -- The antivirus could not be asked: never promoted until a scan succeeds.
    scan_pending boolean not null default false,
    blurhash text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint media_pkey primary key (id),
    constraint media_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint media_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete cascade,
    constraint media_status_check check (status in ('PROMOTED', 'QUARANTINED', 'REJECTED')),
    constraint media_score_range check (score between 0 and 100),
    constraint media_size_positive check (size_bytes >= 0)
);

select diesel_manage_updated_at('media');

create index media_recipe_id_idx on media (recipe_id, position) where status = 'PROMOTED';
create index media_owner_created_idx on media (owner_id, created_at);
create index media_quarantined_idx on media (created_at) where status = 'QUARANTINED';
create unique index media_one_cover_per_recipe on media (recipe_id) where is_cover;

-- Re-encoded copies, stored content-addressed: `storage_key` is `<2 hex>/<sha256>.<ext>` under MEDIA_DIR,
-- so identical variants share one file.
create table media_variants (
    media_id uuid not null,
    name text not null,
    storage_key text not null,
    content_type text not null,
    width integer not null,
    height integer not null,
    size_bytes bigint not null,
    constraint media_variants_pkey primary key (media_id, name),
    constraint media_variants_media_id_fkey foreign key (media_id) references media (id) on delete cascade
);

create index media_variants_storage_key_idx on media_variants (storage_key);

-- Files whose rows are gone, whichever way they went (deleteRecipeImage, a deleted recipe or user, retention):
-- the maintenance task removes each file once no row refers to it any more.
create table media_garbage (
    id bigint generated always as identity,
    area text not null,
    storage_key text not null,
    queued_at timestamptz not null default now(),
    constraint media_garbage_pkey primary key (id),
    constraint media_garbage_area_check check (area in ('media', 'quarantine'))
);

create function media_variant_deleted() returns trigger as $$
begin
    insert into media_garbage (area, storage_key) values ('media', old.storage_key);
    return old;
end;
$$ language plpgsql;

create trigger media_variants_queue_garbage after delete on media_variants
    for each row execute function media_variant_deleted();

create function media_quarantine_left() returns trigger as $$
begin
    if old.status = 'QUARANTINED' and (tg_op = 'DELETE' or new.status <> 'QUARANTINED') then
        insert into media_garbage (area, storage_key) values ('quarantine', old.id::text);
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    return new;
end;
$$ language plpgsql;

create trigger media_queue_quarantine_garbage after delete or update of status on media
    for each row execute function media_quarantine_left();
