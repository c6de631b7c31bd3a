drop index recipe_ingredients_item_trgm_idx;
drop index recipes_title_trgm_idx;
alter table recipes drop column search_vector;
alter table recipes drop column ingredient_text;
alter table recipes add column search_vector tsvector generated always as (
    setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(description, '')), 'B')
) stored;
create index recipes_search_vector_idx on recipes using gin (search_vector);
