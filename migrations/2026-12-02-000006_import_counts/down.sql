drop table import_counts;
