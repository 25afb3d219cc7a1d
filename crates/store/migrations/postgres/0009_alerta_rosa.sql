-- Alerta Rosa: cases of missing women and girls (PostgreSQL). Keep in step with ../sqlite/.

CREATE TABLE alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    folio           TEXT NOT NULL UNIQUE,
    -- A drill (simulacro) goes through every step but is never public.
    drill           BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL CHECK (status IN ('reportada', 'activada', 'difundida', 'localizada_con_vida', 'localizada_sin_vida', 'desactivada')),
    -- Her data: public only while the alert is active, and never for a drill.
    full_name       TEXT NOT NULL,
    age             BIGINT NOT NULL,
    sex             TEXT NOT NULL CHECK (sex IN ('mujer', 'hombre', 'intersexual')),
    gender_identity TEXT NOT NULL DEFAULT '',
    height_cm       BIGINT,
    complexion      TEXT NOT NULL DEFAULT '',
    skin            TEXT NOT NULL DEFAULT '',
    hair            TEXT NOT NULL DEFAULT '',
    eyes            TEXT NOT NULL DEFAULT '',
    marks           TEXT NOT NULL DEFAULT '',
    clothing        TEXT NOT NULL DEFAULT '',
    last_seen_at    TIMESTAMPTZ NOT NULL,
    last_seen_place TEXT NOT NULL,
    cvegeo          TEXT NOT NULL REFERENCES municipalities (cvegeo),
    lat             DOUBLE PRECISION,
    lon             DOUBLE PRECISION,
    radius_km       DOUBLE PRECISION NOT NULL,
    circumstances   TEXT NOT NULL DEFAULT '',
    hotline         TEXT NOT NULL,
    authority       TEXT NOT NULL,
    -- A recent photo, re-encoded as JPEG (which drops its metadata, GPS included).
    photo           BYTEA,
    -- Private: who reported and how to reach them, the investigation file, health
    -- details; sealed (XChaCha20-Poly1305) with VIOLETA_SECRET_KEY.
    private_sealed  TEXT NOT NULL DEFAULT '',
    reported_at     TIMESTAMPTZ NOT NULL,
    activated_at    TIMESTAMPTZ,
    disseminated_at TIMESTAMPTZ,
    closed_at       TIMESTAMPTZ,
    close_note      TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_by_status ON alerts (status, drill);

-- Every step of a case, with who and when: the timeline.
CREATE TABLE alert_events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts (id),
    kind     TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    actor    TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, at);

-- The risk check and consent recorded before publishing; the newest counts.
CREATE TABLE alert_risk_checks (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id             BIGINT NOT NULL REFERENCES alerts (id),
    level                TEXT NOT NULL CHECK (level IN ('bajo', 'medio', 'alto')),
    publish_ok           BOOLEAN NOT NULL,
    notes                TEXT NOT NULL,
    consent              TEXT NOT NULL CHECK (consent IN ('otorgado', 'negado', 'no_requerido')),
    consent_by           TEXT NOT NULL DEFAULT '',
    consent_relationship TEXT NOT NULL DEFAULT '',
    consent_note         TEXT NOT NULL DEFAULT '',
    recorded_at          TIMESTAMPTZ NOT NULL,
    recorded_by          TEXT NOT NULL
);
CREATE INDEX alert_risk_checks_by_alert ON alert_risk_checks (alert_id, id);

-- Translations of the ficha supplied by staff.
CREATE TABLE alert_translations (
    alert_id       BIGINT NOT NULL REFERENCES alerts (id),
    language       TEXT NOT NULL,
    language_name  TEXT NOT NULL,
    heading        TEXT NOT NULL,
    body           TEXT NOT NULL,
    call_to_action TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT NOT NULL,
    PRIMARY KEY (alert_id, language)
);

-- The public documents of an active alert (fichas in PNG and PDF), rendered at
-- activation; deleted when the alert concludes.
CREATE TABLE alert_documents (
    alert_id     BIGINT NOT NULL REFERENCES alerts (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (alert_id, name)
);

-- Every CAP message issued for an alert, so each one references those before it.
CREATE TABLE alert_cap_messages (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   BIGINT NOT NULL REFERENCES alerts (id),
    identifier TEXT NOT NULL UNIQUE,
    sender     TEXT NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL,
    msg_type   TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel'))
);
CREATE INDEX alert_cap_messages_by_alert ON alert_cap_messages (alert_id, id);

-- The last folio number given, per prefix (AR, SIM) and year.
CREATE TABLE alert_folios (
    prefix TEXT NOT NULL,
    year   BIGINT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- Public alert pages and feeds are cached per process until this version changes.
INSERT INTO public_versions (name, version) VALUES ('alertas', 0);
