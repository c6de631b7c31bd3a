-- Webhook deliveries already applied, by their Svix message id: redelivery is a no-op.
create table webhook_deliveries (
    svix_id text not null,
    event_type text not null,
    received_at timestamptz not null default now(),
    constraint webhook_deliveries_pkey primary key (svix_id)
);

create index webhook_deliveries_received_at_idx on webhook_deliveries (received_at);
