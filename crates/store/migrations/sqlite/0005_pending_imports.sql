-- Files uploaded for a preview, kept until the user confirms the import (SQLite).
-- In the store, not on disk, so any server process can finish what another started.
CREATE TABLE pending_imports (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    target_id  INTEGER,
    file_name  TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
