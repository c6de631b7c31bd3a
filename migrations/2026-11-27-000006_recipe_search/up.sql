-- Search: ingredient items join the full-text vector (weight C), and trigrams catch typos in titles.
create extension if not exists pg_trgm;

alter table recipes drop column search_vector;
alter table recipes add column ingredient_text text not null default '';
alter table recipes add column search_vector tsvector generated always as (
    setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(description, '')), 'B') ||
    setweight(to_tsvector('simple', ingredient_text), 'C')
) stored;

create index recipes_search_vector_idx on recipes using gin (search_vector);
create index recipes_title_trgm_idx on recipes using gin (title gin_trgm_ops);
create index recipe_ingredients_item_trgm_idx on recipe_ingredients using gin (item gin_trgm_ops);
