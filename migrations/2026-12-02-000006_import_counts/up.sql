-- Imports by address per user and calendar month, for IMPORT_MONTHLY_LIMIT: one row per user and month,
-- counted by a single upsert so that concurrent imports cannot both take the last one.
create table import_counts (
    owner_id uuid not null,
    month date not null,
    n integer not null,
    constraint import_counts_pkey primary key (owner_id, month),
    constraint import_counts_owner_id_fkey foreign key (owner_id) references users (id) on delete cascade,
    constraint import_counts_n_non_negative check (n >= 0)
);
