-- How many recipes each user has, kept exact by statement-level triggers, so that `totalCount` of an
-- unfiltered list is one row read instead of a count over every recipe the user owns.
CREATE TABLE recipe_counts (
    owner_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    n bigint NOT NULL CHECK (n >= 0)
);

INSERT INTO recipe_counts (owner_id, n) SELECT owner_id, count(*) FROM recipes GROUP BY owner_id;

CREATE FUNCTION recipe_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO recipe_counts (owner_id, n)
    SELECT owner_id, count(*) FROM added GROUP BY owner_id
    ON CONFLICT (owner_id) DO UPDATE SET n = recipe_counts.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION recipe_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE recipe_counts c SET n = c.n - gone.n
    FROM (SELECT owner_id, count(*) AS n FROM removed GROUP BY owner_id) gone
    WHERE c.owner_id = gone.owner_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER recipes_counted_on_insert AFTER INSERT ON recipes
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION recipe_counts_add();
CREATE TRIGGER recipes_counted_on_delete AFTER DELETE ON recipes
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION recipe_counts_remove();
