-- +goose Up
-- PostgreSQL indexes the overdue states by (validity, deadline) for the
-- overdue list as of a past instant (a GiST index); SQLite, which has no
-- range type, keeps a B-tree on the validity's two ends, now under the same
-- name and with the deadline too, so the condition is read from the index.
DROP INDEX overdue_spans_during_idx;
CREATE INDEX overdue_spans_during_due_idx ON overdue_spans (valid_to, valid_from, overdue_from);

-- +goose Down
DROP INDEX overdue_spans_during_due_idx;
CREATE INDEX overdue_spans_during_idx ON overdue_spans (valid_to, valid_from);
