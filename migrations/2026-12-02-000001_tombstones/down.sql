drop trigger media_record_tombstone on media;
drop trigger collections_record_tombstone on collections;
drop trigger tags_record_tombstone on tags;
drop trigger recipes_record_tombstone on recipes;
drop function record_tombstone();
drop table tombstones;
