-- Alerta Rosa dissemination (PostgreSQL): the unit's official accounts (channels), and a
-- durable outbox of publications with one delivery per publication and channel.
-- Keep in step with ../sqlite/.
--
-- `alert_id` is a plain integer without a foreign key: the alerts themselves (cases)
-- live in another module (branch alerta-casos), which calls this one.

CREATE TABLE channels (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform    TEXT NOT NULL CHECK (platform IN ('mastodon', 'telegram', 'facebook', 'x', 'webhook', 'manual')),
    name        TEXT NOT NULL UNIQUE CHECK (name <> ''),
    -- @cuenta, page name: what people see.
    handle      TEXT NOT NULL DEFAULT '',
    -- The API's address (the real one by default; loopback fakes in tests and the demo).
    api_base    TEXT NOT NULL DEFAULT '',
    -- Telegram chat id, Facebook page id, X user id, Mastodon account id.
    remote_id   TEXT NOT NULL DEFAULT '',
    -- Token or shared secret, sealed (XChaCha20-Poly1305) with VIOLETA_SECRET_KEY: v1.base64(…). '' for none.
    credential  TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE channel_groups (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (name <> ''),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE channel_group_members (
    group_id   BIGINT NOT NULL REFERENCES channel_groups (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, channel_id)
);

-- Settings for every alert (one row).
CREATE TABLE dissemination_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    -- Repeat an active alert every so many hours; NULL: do not repeat.
    repeat_hours BIGINT CHECK (repeat_hours IS NULL OR repeat_hours > 0)
);
INSERT INTO dissemination_settings (id, repeat_hours) VALUES (1, NULL);

CREATE TABLE publications (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('alerta', 'actualizacion', 'repeticion', 'retiro')),
    text       TEXT NOT NULL CHECK (text <> ''),
    link       TEXT NOT NULL DEFAULT '',
    image_png  BYTEA,
    image_alt  TEXT NOT NULL DEFAULT '',
    -- Ends every post of this publication, so an uncertain post can be found again.
    marker     TEXT NOT NULL UNIQUE,
    -- The channel group it went to; NULL: every enabled channel.
    group_id   BIGINT REFERENCES channel_groups (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX publications_by_alert ON publications (alert_id);

-- One row per disseminated alert: what its repeats copy, how often, and its closing.
CREATE TABLE alert_dissemination (
    alert_id              BIGINT PRIMARY KEY,
    source_publication_id BIGINT NOT NULL REFERENCES publications (id),
    -- NULL: the global setting; 0: never; n: every n hours.
    repeat_hours          BIGINT CHECK (repeat_hours IS NULL OR repeat_hours >= 0),
    last_spread_at        TIMESTAMPTZ NOT NULL,
    closed_at             TIMESTAMPTZ,
    takedown              TEXT CHECK (takedown IS NULL OR takedown IN ('borrar', 'editar', 'conservar')),
    update_publication_id BIGINT REFERENCES publications (id)
);

CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    publication_id  BIGINT NOT NULL REFERENCES publications (id),
    channel_id      BIGINT NOT NULL REFERENCES channels (id),
    alert_id        BIGINT NOT NULL,
    -- publicar; or borrar / editar the post of the delivery target_id (closing an alert).
    action          TEXT NOT NULL CHECK (action IN ('publicar', 'borrar', 'editar')),
    target_id       BIGINT REFERENCES deliveries (id),
    status          TEXT NOT NULL CHECK (status IN ('pendiente', 'enviando', 'publicada', 'fallida', 'cancelada', 'manual')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    -- An attempt may have reached the platform without its answer reaching us (timeout,
    -- crash): reconcile before posting again.
    uncertain       BOOLEAN NOT NULL DEFAULT FALSE,
    leased_by       TEXT,
    lease_until     TIMESTAMPTZ,
    -- Sent as Idempotency-Key where the platform honours one.
    idempotency_key TEXT NOT NULL UNIQUE,
    -- Spanish, for staff; never a secret.
    last_error      TEXT NOT NULL DEFAULT '',
    -- The receipt: the platform's id and link of the post.
    remote_id       TEXT NOT NULL DEFAULT '',
    remote_url      TEXT NOT NULL DEFAULT '',
    -- The platform's answer (shortened), kept as proof.
    proof           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    done_at         TIMESTAMPTZ,
    CHECK ((action = 'publicar') = (target_id IS NULL))
);
-- One delivery per publication, channel and target.
CREATE UNIQUE INDEX deliveries_once ON deliveries (publication_id, channel_id, COALESCE(target_id, 0));
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pendiente', 'enviando');
CREATE INDEX deliveries_by_alert ON deliveries (alert_id, id);
