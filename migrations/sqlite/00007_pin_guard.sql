-- +goose Up
-- Wrong-PIN counters (docs/security.md, "The citizen's PIN"): one row per
-- client address ('client'), per dossier code and address ('pair') and per
-- dossier code ('dossier'), each counting failures in a fixed window that
-- ends at window_ends. An attempt is counted before its PIN is checked, in
-- one INSERT ... ON CONFLICT ... RETURNING, so concurrent guesses never get
-- past a limit. Rows whose window ended are deleted by the sweep. The
-- dossiers' pin_failures and pin_locked_until columns are no longer used.
CREATE TABLE pin_guard (
    scope       text NOT NULL,
    key         text NOT NULL,
    failures    integer NOT NULL,
    window_ends TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX pin_guard_window_idx ON pin_guard (window_ends);
-- The PINs kept for replays were plain text: from now on they are sealed
-- with the service's key. The plain ones are wiped (a replay of those keys
-- answers without the PIN, as after a reissued PIN).
UPDATE idempotency_keys SET lookup_pin = '' WHERE lookup_pin <> '';

-- +goose Down
-- The wiped plain PINs are not restored (nothing should hold them).
DROP TABLE pin_guard;
