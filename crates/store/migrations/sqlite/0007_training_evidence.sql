-- Evidence of a training session: photos, signed lists (SQLite). Kept in the store so every
-- server process serves them.
CREATE TABLE training_evidence (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
);
CREATE INDEX training_evidence_by_session ON training_evidence (session_id);
