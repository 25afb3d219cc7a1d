-- Violeta foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql:
-- same tables, same columns, same constraints; only the types differ.

CREATE TABLE states (
    cve_ent      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    abbreviation TEXT NOT NULL,
    renapo_code  TEXT NOT NULL UNIQUE
);

CREATE TABLE municipalities (
    cvegeo           TEXT PRIMARY KEY,
    cve_ent          TEXT NOT NULL REFERENCES states (cve_ent),
    cve_mun          TEXT NOT NULL,
    name             TEXT NOT NULL,
    head_town        TEXT NOT NULL,
    population_total INTEGER NOT NULL,
    population_women INTEGER NOT NULL,
    population_men   INTEGER NOT NULL,
    head_lat         REAL,
    head_lon         REAL,
    search_key       TEXT NOT NULL
);
CREATE INDEX municipalities_by_state ON municipalities (cve_ent, search_key);

CREATE TABLE regions (
    id          INTEGER PRIMARY KEY,
    cve_ent     TEXT NOT NULL REFERENCES states (cve_ent),
    name        TEXT NOT NULL,
    source_note TEXT NOT NULL DEFAULT '',
    UNIQUE (cve_ent, name)
);

CREATE TABLE region_aliases (
    region_id INTEGER NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    alias     TEXT NOT NULL,
    PRIMARY KEY (region_id, alias)
);

-- A municipality belongs to at most one region of its state.
CREATE TABLE region_municipalities (
    cvegeo    TEXT PRIMARY KEY REFERENCES municipalities (cvegeo),
    region_id INTEGER NOT NULL REFERENCES regions (id) ON DELETE CASCADE
);
CREATE INDEX region_municipalities_by_region ON region_municipalities (region_id);

CREATE TABLE avgm_declarations (
    id          INTEGER PRIMARY KEY,
    cve_ent     TEXT NOT NULL REFERENCES states (cve_ent),
    kind        TEXT NOT NULL CHECK (kind IN ('violencia_feminicida', 'desaparicion')),
    declared_on TEXT NOT NULL,
    title       TEXT NOT NULL,
    source_note TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

CREATE TABLE avgm_municipalities (
    declaration_id INTEGER NOT NULL REFERENCES avgm_declarations (id) ON DELETE CASCADE,
    cvegeo         TEXT NOT NULL REFERENCES municipalities (cvegeo),
    PRIMARY KEY (declaration_id, cvegeo)
);
CREATE INDEX avgm_municipalities_by_municipality ON avgm_municipalities (cvegeo);

CREATE TABLE avgm_measures (
    id             INTEGER PRIMARY KEY,
    declaration_id INTEGER NOT NULL REFERENCES avgm_declarations (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    category       TEXT NOT NULL DEFAULT '',
    text           TEXT NOT NULL
);

CREATE TABLE institutions (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    acronym    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    level      TEXT NOT NULL,
    cvegeo     TEXT REFERENCES municipalities (cvegeo),
    search_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX institutions_unique_name ON institutions (search_key, COALESCE(cvegeo, ''));

CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    curp           TEXT UNIQUE,
    given_names    TEXT NOT NULL,
    first_surname  TEXT NOT NULL,
    second_surname TEXT NOT NULL DEFAULT '',
    sex            TEXT,
    birth_date     TEXT,
    institution_id INTEGER REFERENCES institutions (id),
    position       TEXT NOT NULL DEFAULT '',
    corps          TEXT,
    cvegeo         TEXT REFERENCES municipalities (cvegeo),
    email          TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    search_key     TEXT NOT NULL,
    merged_into    INTEGER REFERENCES people (id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX people_by_search_key ON people (search_key);
CREATE INDEX people_by_institution ON people (institution_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT,
    institution_id INTEGER REFERENCES institutions (id),
    person_id      INTEGER REFERENCES people (id),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TEXT NOT NULL,
    last_login_at  TEXT
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Sessions live in the store so that any number of `violeta serve` processes share them.
-- Only a hash of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    origin       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    email_key TEXT NOT NULL,
    origin    TEXT NOT NULL,
    at        TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_by_email ON login_attempts (email_key, at);
CREATE INDEX login_attempts_by_origin ON login_attempts (origin, at);

-- Background jobs shared by every server process: claimed with a lease.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until TEXT,
    done_at      TEXT,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jobs_due ON jobs (done_at, run_at);

-- The audit trail: append-only, hash-chained. audit_head holds the last sequence
-- number and hash; every audited write locks it, so the chain never forks.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  INTEGER,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    origin    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'la bitácora de auditoría no admite cambios'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'la bitácora de auditoría no admite borrados'); END;
