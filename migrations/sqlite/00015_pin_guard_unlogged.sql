-- +goose Up
-- PostgreSQL makes the PIN attempt counters unlogged in this step; SQLite has
-- no such tables, and its counters stay as they are.
SELECT 1;

-- +goose Down
SELECT 1;
