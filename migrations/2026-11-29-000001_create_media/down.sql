drop trigger media_queue_quarantine_garbage on media;
drop function media_quarantine_left();
drop trigger media_variants_queue_garbage on media_variants;
drop function media_variant_deleted();
drop table media_garbage;
drop table media_variants;
drop table media;
