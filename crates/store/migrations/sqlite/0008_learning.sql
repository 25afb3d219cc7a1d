-- The Centro de Aprendizaje Digital: courses, their content, enrolment, progress and quiz
-- attempts (SQLite). Keep in step with ../postgres/.

CREATE TABLE courses (
    id                  INTEGER PRIMARY KEY,
    -- Stable across versions and states sharing a course: «PG-101».
    code                TEXT NOT NULL CHECK (code <> ''),
    version             INTEGER NOT NULL CHECK (version >= 1),
    title               TEXT NOT NULL CHECK (title <> ''),
    summary             TEXT NOT NULL DEFAULT '',
    audience            TEXT NOT NULL DEFAULT '',
    -- Length as it goes on the constancia.
    minutes             INTEGER NOT NULL CHECK (minutes > 0),
    programme_id        INTEGER REFERENCES programmes (id),
    status              TEXT NOT NULL CHECK (status IN ('borrador', 'publicado', 'archivado')),
    -- 'todo': every lesson seen and every quiz passed; 'seleccion': only those marked required.
    completion_rule     TEXT NOT NULL CHECK (completion_rule IN ('todo', 'seleccion')),
    -- Constancias of courses that must be renewed expire this many months after completion.
    valid_months        INTEGER CHECK (valid_months IS NULL OR valid_months > 0),
    -- Self-enrolment closes at the end of this day (Mexico City).
    enrolment_closes_on TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (code, version)
);

CREATE TABLE course_modules (
    id        INTEGER PRIMARY KEY,
    course_id INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    title     TEXT NOT NULL CHECK (title <> '')
);
CREATE INDEX course_modules_by_course ON course_modules (course_id, position);

-- A lesson or a quiz.
CREATE TABLE course_items (
    id            INTEGER PRIMARY KEY,
    course_id     INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    module_id     INTEGER NOT NULL REFERENCES course_modules (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('leccion', 'cuestionario')),
    title         TEXT NOT NULL CHECK (title <> ''),
    required      BOOLEAN NOT NULL DEFAULT TRUE,
    -- Lessons: Markdown, and an optional link to a video.
    body          TEXT NOT NULL DEFAULT '',
    video_url     TEXT NOT NULL DEFAULT '',
    -- Quizzes: pass mark in percent, attempts allowed (NULL: no limit), questions drawn from
    -- the bank per attempt (NULL: all of them).
    pass_percent  INTEGER CHECK (pass_percent IS NULL OR pass_percent BETWEEN 1 AND 100),
    attempt_limit INTEGER CHECK (attempt_limit IS NULL OR attempt_limit >= 1),
    draw_count    INTEGER CHECK (draw_count IS NULL OR draw_count >= 1),
    CHECK (kind = 'leccion' OR pass_percent IS NOT NULL)
);
CREATE INDEX course_items_by_course ON course_items (course_id, module_id, position);

CREATE TABLE quiz_questions (
    id        INTEGER PRIMARY KEY,
    item_id   INTEGER NOT NULL REFERENCES course_items (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('unica', 'multiple', 'verdadero_falso')),
    prompt    TEXT NOT NULL CHECK (prompt <> ''),
    feedback  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX quiz_questions_by_item ON quiz_questions (item_id, position);

CREATE TABLE quiz_options (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES quiz_questions (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    text        TEXT NOT NULL CHECK (text <> ''),
    correct     BOOLEAN NOT NULL
);
CREATE INDEX quiz_options_by_question ON quiz_options (question_id, position);

-- Images and attachments a lesson links to as `archivos/NAME`.
CREATE TABLE course_files (
    id           INTEGER PRIMARY KEY,
    course_id    INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    UNIQUE (course_id, name)
);

CREATE TABLE course_cohorts (
    id                  INTEGER PRIMARY KEY,
    course_id           INTEGER NOT NULL REFERENCES courses (id),
    name                TEXT NOT NULL CHECK (name <> ''),
    starts_on           TEXT NOT NULL,
    ends_on             TEXT NOT NULL,
    enrolment_closes_on TEXT,
    created_at          TEXT NOT NULL,
    CHECK (ends_on >= starts_on),
    UNIQUE (course_id, name)
);

-- A person counts once per course.
CREATE TABLE enrolments (
    id           INTEGER PRIMARY KEY,
    course_id    INTEGER NOT NULL REFERENCES courses (id),
    person_id    INTEGER NOT NULL REFERENCES people (id),
    cohort_id    INTEGER REFERENCES course_cohorts (id),
    source       TEXT NOT NULL CHECK (source IN ('autoinscripcion', 'masiva', 'moodle', 'personal')),
    enrolled_at  TEXT NOT NULL,
    -- Where the learner left off.
    last_item_id INTEGER REFERENCES course_items (id) ON DELETE SET NULL,
    completed_at TEXT,
    UNIQUE (course_id, person_id)
);
CREATE INDEX enrolments_by_person ON enrolments (person_id);
CREATE INDEX enrolments_by_course_completed ON enrolments (course_id, completed_at);

CREATE TABLE lesson_views (
    enrolment_id INTEGER NOT NULL REFERENCES enrolments (id) ON DELETE CASCADE,
    item_id      INTEGER NOT NULL REFERENCES course_items (id) ON DELETE CASCADE,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (enrolment_id, item_id)
);

CREATE TABLE quiz_attempts (
    id            INTEGER PRIMARY KEY,
    enrolment_id  INTEGER NOT NULL REFERENCES enrolments (id) ON DELETE CASCADE,
    item_id       INTEGER NOT NULL REFERENCES course_items (id) ON DELETE CASCADE,
    -- The question ids drawn for this attempt, in order (JSON array).
    drawn         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    -- The option ids chosen per question (JSON object), once submitted.
    answers       TEXT,
    submitted_at  TEXT,
    score_percent INTEGER,
    passed        BOOLEAN
);
CREATE INDEX quiz_attempts_by_enrolment ON quiz_attempts (enrolment_id, item_id);
