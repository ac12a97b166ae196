-- +goose Up
-- SQLite twin of postgres/00016_score_rollups.sql.
-- The scorecard's roll-ups (docs/reports.md, "The scorecard's roll-ups"):
-- indicator 2.1's set S and 5.4's low ratings per month of the event (month)
-- and month of the dossier's reception, or of its result for rated_low
-- (since), lead agency and procedure; per calendar month and per
-- statistical month (domain.StatMonthNumber). They start empty:
-- `motcua seed rollups` (store.RebuildRollups) fills them, with the two new
-- columns of rollup_open, from the dossiers and their history.
ALTER TABLE rollup_open ADD COLUMN received_at TIMESTAMP;
ALTER TABLE rollup_open ADD COLUMN supplements integer NOT NULL DEFAULT 0;

CREATE TABLE score_monthly (
    month          integer NOT NULL,
    since          integer NOT NULL,
    agency_code    text NOT NULL,
    procedure_code text NOT NULL,
    received       bigint NOT NULL DEFAULT 0,
    finished       bigint NOT NULL DEFAULT 0,
    finished_late  bigint NOT NULL DEFAULT 0,
    late_delta     bigint NOT NULL DEFAULT 0,
    rated_low      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, agency_code, procedure_code, since)
);

CREATE TABLE score_stat_monthly (
    month          integer NOT NULL,
    since          integer NOT NULL,
    agency_code    text NOT NULL,
    procedure_code text NOT NULL,
    received       bigint NOT NULL DEFAULT 0,
    finished       bigint NOT NULL DEFAULT 0,
    finished_late  bigint NOT NULL DEFAULT 0,
    late_delta     bigint NOT NULL DEFAULT 0,
    rated_low      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, agency_code, procedure_code, since)
);

-- +goose Down
DROP TABLE score_stat_monthly;
DROP TABLE score_monthly;
ALTER TABLE rollup_open DROP COLUMN supplements;
ALTER TABLE rollup_open DROP COLUMN received_at;
