-- +goose Up
-- PostgreSQL indexes the overdue states by (validity, deadline) for the
-- overdue list as of a past instant; SQLite reads them as before.
SELECT 1;

-- +goose Down
SELECT 1;
