-- Extra quiz attempts staff grant a learner who used hers up: each row is one more attempt,
-- on top of the quiz's limit, with the reason (also in the audit trail). Keep in step with
-- ../postgres/.
CREATE TABLE quiz_attempt_grants (
    id           INTEGER PRIMARY KEY,
    enrolment_id INTEGER NOT NULL REFERENCES enrolments (id) ON DELETE CASCADE,
    item_id      INTEGER NOT NULL REFERENCES course_items (id) ON DELETE CASCADE,
    reason       TEXT NOT NULL CHECK (reason <> ''),
    granted_at   TEXT NOT NULL
);
CREATE INDEX quiz_attempt_grants_by_enrolment ON quiz_attempt_grants (enrolment_id, item_id);
