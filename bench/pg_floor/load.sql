-- The server's own share of an attendance import: people by COPY, then their attendance to
-- demo session 1, in one transaction, with no client work. Run by bench/pg_floor/run.
\timing on
BEGIN;
\copy people (curp, given_names, first_surname, second_surname, sex, birth_date, institution_id, position, corps, cvegeo, email, phone, search_key, created_at, updated_at) FROM 'people.copy'
INSERT INTO attendance (session_id, person_id, status, source, pre_score, post_score, recorded_at)
    SELECT 1, id, 'asistio', 'lista', NULL, NULL, now() FROM people WHERE created_at = '2026-12-02T00:00:00Z' ORDER BY id;
COMMIT;
