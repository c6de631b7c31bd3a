drop table recipe_tags;
drop table tags;
