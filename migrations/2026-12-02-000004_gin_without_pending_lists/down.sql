ALTER INDEX recipes_search_vector_idx SET (fastupdate = on);
ALTER INDEX recipes_title_trgm_idx SET (fastupdate = on);
ALTER INDEX recipe_ingredients_item_trgm_idx SET (fastupdate = on);
