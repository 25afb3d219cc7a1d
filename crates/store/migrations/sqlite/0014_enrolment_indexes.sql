-- Enrolments' completion index (sqlite) keeps only completed enrolments: a bulk enrolment adds
-- unfinished ones, which no longer cost an entry each. Keep in step with ../postgres/.
--
-- Its one use is a course's completion count (`course_id = … AND completed_at IS NOT NULL`);
-- the count of enrolments uses the unique (course_id, person_id) index, and the reports filter
-- on enrolment dates.
DROP INDEX enrolments_by_course_completed;
CREATE INDEX enrolments_completed_by_course ON enrolments (course_id) WHERE completed_at IS NOT NULL;
