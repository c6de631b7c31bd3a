drop table recipe_steps;
drop table recipe_ingredients;
drop table recipes;
