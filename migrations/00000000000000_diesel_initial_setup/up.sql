-- Helpers shared by every table: `select diesel_manage_updated_at('t');` keeps t.updated_at current.

create or replace function diesel_manage_updated_at(_tbl regclass) returns void as $$
begin
    execute format('create trigger set_updated_at before update on %s
                    for each row execute procedure diesel_set_updated_at()', _tbl);
end;
$$ language plpgsql;

create or replace function diesel_set_updated_at() returns trigger as $$
begin
    if (
        new is distinct from old and
        new.updated_at is not distinct from old.updated_at
    ) then
        new.updated_at := current_timestamp;
    end if;
    return new;
end;
$$ language plpgsql;
