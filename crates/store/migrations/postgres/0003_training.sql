-- Programmes, training sessions and attendance (PostgreSQL). Keep in step with ../sqlite/.

CREATE TABLE programmes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    objective  TEXT NOT NULL DEFAULT '',
    cve_ent    TEXT REFERENCES states (cve_ent),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE training_sessions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title          TEXT NOT NULL,
    topic          TEXT NOT NULL DEFAULT '',
    -- The police protocol (or other protocol) the session trains in, when it does.
    protocol       TEXT NOT NULL DEFAULT '',
    modality       TEXT NOT NULL CHECK (modality IN ('presencial', 'virtual', 'hibrida')),
    programme_id   BIGINT REFERENCES programmes (id),
    -- Repeating sessions of one course share this key.
    course_key     TEXT NOT NULL DEFAULT '',
    cvegeo         TEXT REFERENCES municipalities (cvegeo),
    venue          TEXT NOT NULL DEFAULT '',
    meeting_link   TEXT NOT NULL DEFAULT '',
    instructors    TEXT NOT NULL DEFAULT '',
    -- Audience codes separated by commas.
    audience       TEXT NOT NULL DEFAULT '',
    capacity       BIGINT,
    status         TEXT NOT NULL CHECK (status IN ('planeada', 'realizada', 'cancelada')),
    checkin_secret TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX training_sessions_by_programme ON training_sessions (programme_id);

CREATE TABLE training_session_days (
    session_id BIGINT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    day        DATE NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, day)
);
CREATE INDEX training_session_days_by_day ON training_session_days (day);

-- A person counts once per session.
CREATE TABLE attendance (
    session_id  BIGINT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    person_id   BIGINT NOT NULL REFERENCES people (id),
    status      TEXT NOT NULL CHECK (status IN ('asistio', 'retardo', 'justificada', 'falto')),
    source      TEXT NOT NULL CHECK (source IN ('lista', 'captura', 'qr')),
    pre_score   DOUBLE PRECISION,
    post_score  DOUBLE PRECISION,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, person_id)
);
CREATE INDEX attendance_by_person ON attendance (person_id);
