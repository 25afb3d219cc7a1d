-- Prototype, not shipped: the three foreign keys an attendance import checks, replaced by
-- statement-level triggers that check and lock the referenced rows set-wise. Child side only
-- (the referenced side -- deletes of sessions, people, municipalities -- is not handled here).
-- Measured by bench/pg_floor/run against the declared foreign keys; see docs/performance.md.
CREATE FUNCTION check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fk_column text := TG_ARGV[0];
    parent text := TG_ARGV[1];
    parent_key text := TG_ARGV[2];
    wanted bigint;
    found bigint;
    missing text;
BEGIN
    EXECUTE format('SELECT count(DISTINCT %I) FROM new_rows', fk_column) INTO wanted;
    IF wanted = 0 THEN RETURN NULL; END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %1$I p WHERE p.%2$I IN (SELECT %3$I FROM new_rows) FOR KEY SHARE OF p) x',
                   parent, parent_key, fk_column) INTO found;
    IF found < wanted THEN
        EXECUTE format('SELECT n.%1$I::text FROM new_rows n WHERE n.%1$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.%3$I = n.%1$I) LIMIT 1',
                       fk_column, parent, parent_key) INTO missing;
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', TG_TABLE_NAME, TG_NAME
            USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (%s)=(%s) is not present in table "%s".', fk_column, missing, parent),
                  TABLE = TG_TABLE_NAME, CONSTRAINT = TG_NAME;
    END IF;
    RETURN NULL;
END $$;
ALTER TABLE people DROP CONSTRAINT people_cvegeo_fkey;
ALTER TABLE attendance DROP CONSTRAINT attendance_person_id_fkey;
ALTER TABLE attendance DROP CONSTRAINT attendance_session_id_fkey;
CREATE TRIGGER people_cvegeo_fkey AFTER INSERT ON people REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_references('cvegeo', 'municipalities', 'cvegeo');
CREATE TRIGGER attendance_person_id_fkey AFTER INSERT ON attendance REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_references('person_id', 'people', 'id');
CREATE TRIGGER attendance_session_id_fkey AFTER INSERT ON attendance REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION check_references('session_id', 'training_sessions', 'id');
