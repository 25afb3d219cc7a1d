-- A course's revision: raised by every change to the course or its content (modules, items,
-- questions, files, status), in the change's transaction. Pages keep a course's content in
-- memory keyed by it, so a learner's page reads only her own rows. Keep in step with the
-- other backend's file.
ALTER TABLE courses ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
