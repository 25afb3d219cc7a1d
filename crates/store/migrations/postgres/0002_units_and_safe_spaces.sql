-- Rapid-reaction units and espacios seguros (PostgreSQL). Keep in step with ../sqlite/.

CREATE TABLE reaction_units (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL,
    cvegeo       TEXT NOT NULL REFERENCES municipalities (cvegeo),
    status       TEXT NOT NULL CHECK (status IN ('en_formacion', 'activa', 'suspendida')),
    activated_on DATE,
    agreement    TEXT NOT NULL DEFAULT '',
    contact_line TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reaction_units_by_municipality ON reaction_units (cvegeo);

-- Every status change, with who and when.
CREATE TABLE reaction_unit_changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id    BIGINT NOT NULL REFERENCES reaction_units (id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    changed_on DATE NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);

CREATE TABLE reaction_unit_members (
    unit_id   BIGINT NOT NULL REFERENCES reaction_units (id) ON DELETE CASCADE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    rank      TEXT NOT NULL DEFAULT '',
    joined_on DATE,
    PRIMARY KEY (unit_id, person_id)
);

CREATE TABLE safe_spaces (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('comercio', 'institucion_publica', 'transporte', 'escuela', 'centro_salud', 'otro')),
    address       TEXT NOT NULL,
    cvegeo        TEXT NOT NULL REFERENCES municipalities (cvegeo),
    lat           DOUBLE PRECISION NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    -- Private: never on a public page or feed.
    contact_name  TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    installed_on  DATE,
    status        TEXT NOT NULL CHECK (status IN ('activo', 'suspendido', 'retirado')),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX safe_spaces_by_municipality ON safe_spaces (cvegeo, status);

CREATE TABLE safe_space_visits (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    safe_space_id BIGINT NOT NULL REFERENCES safe_spaces (id) ON DELETE CASCADE,
    scheduled_on  DATE NOT NULL,
    visited_on    DATE,
    result        TEXT CHECK (result IN ('conforme', 'con_observaciones', 'no_opera')),
    notes         TEXT NOT NULL DEFAULT '',
    next_due      DATE
);
CREATE INDEX safe_space_visits_by_space ON safe_space_visits (safe_space_id, scheduled_on);

-- Bumped on every change to public data, so each server process can tell that its cache
-- of public pages is stale without asking for the data itself.
CREATE TABLE public_versions (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO public_versions (name, version) VALUES ('mapa', 0);
