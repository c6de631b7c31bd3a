-- Bulk imports by address: a job of up to 500 addresses, run in the background by whichever instance holds its
-- lease (renewed while it runs; a job whose holder stopped is taken up by another, from its first address not yet
-- done). One active job per person. Each address ends IMPORTED (with the recipe made), DUPLICATE (with the
-- recipe the person already has from that address) or FAILED (with the import's error code); a cancelled job's
-- remaining addresses stay undone.
create table recipe_imports (
    id uuid not null,
    owner_id uuid not null,
    state text not null default 'QUEUED',
    total integer not null,
    lease_until timestamptz,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint recipe_imports_pkey primary key (id),
    constraint recipe_imports_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint recipe_imports_state_check check (state in ('QUEUED', 'RUNNING', 'DONE', 'CANCELLED')),
    constraint recipe_imports_total_check check (total between 1 and 500)
);
create index recipe_imports_owner_idx on recipe_imports (owner_id, created_at desc);
create unique index recipe_imports_one_active_per_owner on recipe_imports (owner_id) where state in ('QUEUED', 'RUNNING');
create index recipe_imports_waiting_idx on recipe_imports (created_at) where state in ('QUEUED', 'RUNNING');

create table recipe_import_urls (
    import_id uuid not null,
    position integer not null,
    url text not null,
    outcome text,
    code text,
    recipe_id uuid,
    finished_at timestamptz,
    constraint recipe_import_urls_pkey primary key (import_id, position),
    constraint recipe_import_urls_import_id_fkey foreign key (import_id) references recipe_imports (id) on delete cascade,
    constraint recipe_import_urls_recipe_id_fkey foreign key (recipe_id) references recipes (id) on delete set null,
    constraint recipe_import_urls_outcome_check check (outcome in ('IMPORTED', 'DUPLICATE', 'FAILED')),
    constraint recipe_import_urls_url_length check (char_length(url) <= 2048)
);

-- Progress, live: `recipeImportChanged` hears of every address done and every change of state.
create function recipe_import_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('homechef_live', json_build_object(
        'kind', 'RECIPE_IMPORT', 'id', coalesce(to_jsonb(new) ->> 'import_id', to_jsonb(new) ->> 'id')
    )::text);
    return null;
end
$$;
create trigger recipe_import_urls_done after update on recipe_import_urls
    for each row when (old.outcome is null and new.outcome is not null) execute function recipe_import_changed();
create trigger recipe_imports_state_changed after update on recipe_imports
    for each row when (old.state is distinct from new.state) execute function recipe_import_changed();
