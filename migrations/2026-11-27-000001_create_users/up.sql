-- People who signed in through Clerk (or, in development, with a dev token).
create table users (
    id uuid not null,
    clerk_id text not null,
    email text,
    name text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_pkey primary key (id),
    constraint users_clerk_id_key unique (clerk_id),
    constraint users_clerk_id_length check (char_length(clerk_id) between 1 and 255),
    constraint users_email_length check (char_length(email) <= 320),
    constraint users_name_length check (char_length(name) <= 200)
);

select diesel_manage_updated_at('users');
