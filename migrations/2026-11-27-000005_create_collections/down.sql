drop table collection_recipes;
drop table collections;
