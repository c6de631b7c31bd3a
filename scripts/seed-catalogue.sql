-- The catalogue benchmarks' data: :n recipes (10 ingredients, 6 steps, 3 of 20 tags each) for the user
-- `dev_bench` (who must exist), replacing that user's recipes and tags.
--   psql "$db" -v n=10000 -f scripts/seed-catalogue.sql
\set ON_ERROR_STOP on
begin;
-- The search indexes take entries one by one (fastupdate off, as the migrations leave them): far too slow for
-- millions of rows, so they buffer during the load and are merged at the end, as a real catalogue's are.
alter index recipes_search_vector_idx set (fastupdate = on);
alter index recipes_title_trgm_idx set (fastupdate = on);
alter index recipe_ingredients_item_trgm_idx set (fastupdate = on);
delete from recipes where owner_id = (select id from users where clerk_id = 'dev_bench');
delete from tags where owner_id = (select id from users where clerk_id = 'dev_bench');
create temp table words (w text);
insert into words values ('tomato'),('garlic'),('basil'),('lemon'),('chicken'),('rice'),('beans'),('curry'),
  ('pasta'),('mushroom'),('ginger'),('honey'),('potato'),('spinach'),('salmon'),('coconut'),('pepper'),('onion'),
  ('carrot'),('celery'),('leek'),('fennel'),('thyme'),('rosemary'),('sage'),('parsley'),('cumin'),('paprika'),
  ('chickpea'),('lentil'),('quinoa'),('barley'),('oats'),('almond'),('walnut'),('pecan'),('apple'),('pear'),
  ('plum'),('cherry'),('mango'),('lime'),('orange'),('yogurt'),('butter'),('cream'),('cheese'),('egg'),
  ('beef'),('pork'),('lamb'),('tofu'),('tempeh'),('kale'),('cabbage'),('broccoli'),('zucchini'),('eggplant'),
  ('squash'),('corn');
create temp table seeded as
  select gen_random_uuid() as id, g as i from generate_series(1, :n) g;
insert into recipes (id, owner_id, title, description, prep_minutes, cook_minutes, total_minutes, servings, visibility)
  select s.id, u.id,
         initcap((select w from words offset (s.i % 60) limit 1)) || ' ' || (select w from words offset ((s.i / 60) % 60) limit 1) || ' #' || s.i,
         'A weeknight dish with ' || (select w from words offset ((s.i * 7) % 60) limit 1) || ' and plenty of flavour.',
         s.i % 30, s.i % 60, s.i % 30 + s.i % 60, 4, 'PRIVATE'
  from seeded s, users u where u.clerk_id = 'dev_bench';
insert into recipe_ingredients (id, recipe_id, position, quantity, unit, item, original_text)
  select gen_random_uuid(), s.id, p, (p % 4) + 1, 'cup', (select w from words offset ((s.i * 13 + p * 7) % 60) limit 1),
         ((p % 4) + 1) || ' cup ' || (select w from words offset ((s.i * 13 + p * 7) % 60) limit 1)
  from seeded s, generate_series(0, 9) p;
insert into recipe_steps (id, recipe_id, position, text)
  select gen_random_uuid(), s.id, p, 'Step ' || (p + 1) || ': stir, season and cook until done.'
  from seeded s, generate_series(0, 5) p;
insert into tags (id, owner_id, name) select gen_random_uuid(), u.id, 'tag ' || t from users u, generate_series(1, 20) t where u.clerk_id = 'dev_bench';
insert into recipe_tags (recipe_id, tag_id)
  select s.id, t.id from seeded s
  join lateral (select id from tags where owner_id = (select id from users where clerk_id = 'dev_bench')
                order by name offset (s.i % 18) limit 3) t on true;
update recipes r set ingredient_text = x.items
  from (select recipe_id, string_agg(item, ' ' order by position) items from recipe_ingredients group by recipe_id) x
  where x.recipe_id = r.id and r.id in (select id from seeded);
alter index recipes_search_vector_idx set (fastupdate = off);
alter index recipes_title_trgm_idx set (fastupdate = off);
alter index recipe_ingredients_item_trgm_idx set (fastupdate = off);
commit;
select gin_clean_pending_list('recipes_search_vector_idx'), gin_clean_pending_list('recipes_title_trgm_idx'),
  gin_clean_pending_list('recipe_ingredients_item_trgm_idx') \g /dev/null
analyze;
