-- Constancias: signed Open Badges 3.0 credentials for courses and training sessions
-- (SQLite). Keep in step with ../postgres/.

-- Who signs. The active row signs new constancias; earlier rows stay so that what they
-- signed still verifies. The private key is sealed (XChaCha20-Poly1305) with a key that
-- is not in the database (VIOLETA_SECRET_KEY).
CREATE TABLE issuer_keys (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    signatory       TEXT NOT NULL CHECK (signatory <> ''),
    signatory_title TEXT NOT NULL CHECK (signatory_title <> ''),
    -- Ed25519 public key, multibase (z6Mk…).
    public_key      TEXT NOT NULL UNIQUE,
    -- Ed25519 private key, sealed: v1.base64(nonce || ciphertext).
    private_key     TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys (active) WHERE active;

-- The next free position in the revocation status list (one list).
CREATE TABLE credential_status_list (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    next_index INTEGER NOT NULL
);
INSERT INTO credential_status_list (id, next_index) VALUES (1, 0);

CREATE TABLE credentials (
    id                INTEGER PRIMARY KEY,
    folio             TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('curso', 'capacitacion')),
    -- The course's or the training session's id.
    subject_id        INTEGER NOT NULL,
    person_id         INTEGER NOT NULL REFERENCES people (id),
    recipient_name    TEXT NOT NULL,
    title             TEXT NOT NULL,
    -- Length of the activity in minutes (shown in hours).
    minutes           INTEGER NOT NULL CHECK (minutes >= 0),
    first_day         TEXT NOT NULL,
    last_day          TEXT NOT NULL,
    issuer_id         INTEGER NOT NULL REFERENCES issuer_keys (id),
    -- The issuer as it signed (the issuer row may change its signatory later).
    issuer_name       TEXT NOT NULL,
    signatory         TEXT NOT NULL,
    signatory_title   TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    expires_at        TEXT,
    revoked_at        TEXT,
    revocation_reason TEXT NOT NULL DEFAULT '',
    -- Reissued after a correction: the constancia that replaces this one.
    replaced_by       INTEGER REFERENCES credentials (id),
    status_index      INTEGER NOT NULL UNIQUE,
    -- The signed document, as issued.
    credential_json   TEXT NOT NULL,
    CHECK (last_day >= first_day),
    CHECK (replaced_by IS NULL OR revoked_at IS NOT NULL),
    CHECK (revoked_at IS NULL OR revocation_reason <> '')
);
-- One standing constancia per person and achievement; revoked ones stay on record.
CREATE UNIQUE INDEX credentials_one_standing ON credentials (kind, subject_id, person_id) WHERE revoked_at IS NULL;
CREATE INDEX credentials_by_subject ON credentials (kind, subject_id);
CREATE INDEX credentials_by_person ON credentials (person_id);
