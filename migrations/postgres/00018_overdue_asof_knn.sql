-- +goose Up
-- The overdue list as of a past instant (docs/reports.md) takes the first
-- page of the states in force at the instant in deadline order. One GiST
-- index on (validity range, deadline) answers both: the states in force, and
-- them nearest the earliest deadline first (btree_gist's distance operator
-- on timestamps), so a page reads about its own rows instead of sorting
-- every state in force (docs/benchmarks.md, issue 17). It replaces the
-- range-only index, whose queries it serves too.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX overdue_spans_during_due_idx ON overdue_spans USING gist (tstzrange(valid_from, valid_to, '[)'), overdue_from);
DROP INDEX overdue_spans_during_idx;

-- +goose Down
CREATE INDEX overdue_spans_during_idx ON overdue_spans USING gist (tstzrange(valid_from, valid_to, '[)'));
DROP INDEX overdue_spans_during_due_idx;
