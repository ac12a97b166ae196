-- +goose Up
-- The PIN attempt counters are rate-limit state, written on every citizen's
-- look-up (counted before the PIN is checked, given back after a right one).
-- Unlogged, their commits do not wait for a WAL flush: the look-up's two
-- writes were its largest cost (docs/benchmarks.md, "Hot paths"). The price,
-- accepted in docs/security.md: after a PostgreSQL crash, or on a standby
-- promoted after a failover, the counters start again from zero.
ALTER TABLE pin_guard SET UNLOGGED;

-- +goose Down
ALTER TABLE pin_guard SET LOGGED;
