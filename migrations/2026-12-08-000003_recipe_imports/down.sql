drop table recipe_import_urls;
drop table recipe_imports;
drop function recipe_import_changed();
