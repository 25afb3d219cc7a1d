-- Competency certification in CONOCER standards (SQLite). Keep in step with ../postgres/.
-- Violeta records official certificates; it never issues them.

CREATE TABLE competency_standards (
    id          INTEGER PRIMARY KEY,
    -- Key in the Registro Nacional de Estándares de Competencia: EC and four digits.
    code        TEXT NOT NULL UNIQUE CHECK (length(code) = 6 AND code LIKE 'EC____'),
    title       TEXT NOT NULL CHECK (title <> ''),
    -- Level in the Sistema Nacional de Competencias; NULL when not confirmed.
    level       INTEGER CHECK (level BETWEEN 1 AND 5),
    -- How long a certificate lasts, when the standard says so.
    valid_years INTEGER CHECK (valid_years > 0),
    -- Where the official title was confirmed.
    source      TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE certification_cohorts (
    id          INTEGER PRIMARY KEY,
    standard_id INTEGER NOT NULL REFERENCES competency_standards (id),
    name        TEXT NOT NULL CHECK (name <> ''),
    starts_on   TEXT,
    ends_on     TEXT,
    notes       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (standard_id, name),
    CHECK (starts_on IS NULL OR ends_on IS NULL OR ends_on >= starts_on)
);

CREATE TABLE certification_cohort_institutions (
    cohort_id      INTEGER NOT NULL REFERENCES certification_cohorts (id) ON DELETE CASCADE,
    institution_id INTEGER NOT NULL REFERENCES institutions (id),
    PRIMARY KEY (cohort_id, institution_id)
);

CREATE TABLE certification_processes (
    id                   INTEGER PRIMARY KEY,
    person_id            INTEGER NOT NULL REFERENCES people (id),
    standard_id          INTEGER NOT NULL REFERENCES competency_standards (id),
    cohort_id            INTEGER REFERENCES certification_cohorts (id),
    stage                TEXT NOT NULL CHECK (stage IN ('diagnostico', 'alineacion', 'evaluacion', 'certificado', 'todavia_no_competente')),
    -- 1 for the first attempt; a new attempt after "todavía no competente" adds one.
    attempt              INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    diagnosis_on         TEXT,
    -- The alignment training: a session in Violeta, or a description.
    alignment_session_id INTEGER REFERENCES training_sessions (id),
    alignment_note       TEXT NOT NULL DEFAULT '',
    evaluator_user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    evaluator_name       TEXT NOT NULL DEFAULT '',
    evaluated_on         TEXT,
    -- Notes about the evidence portfolio.
    portfolio            TEXT NOT NULL DEFAULT '',
    result               TEXT CHECK (result IN ('competente', 'todavia_no_competente')),
    -- CONOCER's folio: one certificate, one folio.
    certificate_folio    TEXT UNIQUE,
    certified_on         TEXT,
    -- The ECE or OC that issued it.
    certifying_entity    TEXT NOT NULL DEFAULT '',
    expires_on           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CHECK (stage <> 'certificado' OR (result = 'competente' AND certificate_folio IS NOT NULL AND certified_on IS NOT NULL AND certifying_entity <> '')),
    CHECK (certificate_folio IS NULL OR stage = 'certificado')
);
-- A person has at most one open (not yet certified) process per standard.
CREATE UNIQUE INDEX certification_processes_one_open ON certification_processes (person_id, standard_id) WHERE stage <> 'certificado';
CREATE INDEX certification_processes_by_standard ON certification_processes (standard_id, stage);
CREATE INDEX certification_processes_by_cohort ON certification_processes (cohort_id);
CREATE INDEX certification_processes_by_person ON certification_processes (person_id);
CREATE INDEX certification_processes_by_expiry ON certification_processes (expires_on);

-- The history of each process: one row per step.
CREATE TABLE certification_events (
    id         INTEGER PRIMARY KEY,
    process_id INTEGER NOT NULL REFERENCES certification_processes (id) ON DELETE CASCADE,
    stage      TEXT NOT NULL CHECK (stage IN ('diagnostico', 'alineacion', 'evaluacion', 'certificado', 'todavia_no_competente')),
    at         TEXT NOT NULL,
    by_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    by_label   TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX certification_events_by_process ON certification_events (process_id, at);
