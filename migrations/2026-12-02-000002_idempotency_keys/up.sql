-- The first response to each mutation sent with an `Idempotency-Key`, per user, so that a replay of the same
-- request returns it instead of running again. Written in the same transaction as the mutation's writes;
-- kept 24 hours (the maintenance run purges older rows). The body is text, not jsonb: a replay must be
-- byte-for-byte the first response.
CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status smallint NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
