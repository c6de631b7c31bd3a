DROP TRIGGER recipes_counted_on_delete ON recipes;
DROP TRIGGER recipes_counted_on_insert ON recipes;
DROP FUNCTION recipe_counts_remove();
DROP FUNCTION recipe_counts_add();
DROP TABLE recipe_counts;
