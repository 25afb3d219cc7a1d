-- People's secondary indexes (postgres): fewer to keep up on every insert (imports, check-in).
-- Keep in step with ../sqlite/.
--
-- people_by_search_key could not serve the people search, which is a substring match
-- (`search_key LIKE '%…%'`): no B-tree index helps a pattern that starts with a wildcard.
-- It cost a B-tree insert per new person and nothing else used it.
DROP INDEX people_by_search_key;

-- Most people belong to no institution: the index keeps only those who do. Every query
-- that can use it compares institution_id with a value (`p.institution_id = i.id`, the
-- foreign key's check when an institution goes), which implies IS NOT NULL.
DROP INDEX people_by_institution;
CREATE INDEX people_by_institution ON people (institution_id) WHERE institution_id IS NOT NULL;
