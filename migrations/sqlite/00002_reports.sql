-- +goose Up
-- SQLite twin of postgres/00002_reports.sql (TIMESTAMP columns as in 00001).
-- Roll-ups of the service-quality figures (docs/reports.md): per local
-- date (YYYYMMDD) or month (YYYYMM), lead agency and procedure, the counters
-- domain.StatStep moves, written in the transaction that changes the dossier.
-- Flow counters count what happened on the date; *_delta columns are state
-- deltas whose sum over every date up to D is the number of dossiers open,
-- paused or overdue at the end of D. The monthly table holds the same sums
-- per month, so a long period or a prefix reads months, not days.
CREATE TABLE rollup_daily (
    day                     integer NOT NULL,
    agency_code             text NOT NULL,
    procedure_code          text NOT NULL,
    received                bigint NOT NULL DEFAULT 0,
    received_online         bigint NOT NULL DEFAULT 0,
    received_postal         bigint NOT NULL DEFAULT 0,
    received_by_post        bigint NOT NULL DEFAULT 0,
    processed               bigint NOT NULL DEFAULT 0,
    processed_early         bigint NOT NULL DEFAULT 0,
    processed_on_time       bigint NOT NULL DEFAULT 0,
    processed_late          bigint NOT NULL DEFAULT 0,
    processing_minutes      bigint NOT NULL DEFAULT 0,
    withdrawn               bigint NOT NULL DEFAULT 0,
    stopped                 bigint NOT NULL DEFAULT 0,
    refused_after_reception bigint NOT NULL DEFAULT 0,
    returned_postal         bigint NOT NULL DEFAULT 0,
    apologies               bigint NOT NULL DEFAULT 0,
    apologies_late          bigint NOT NULL DEFAULT 0,
    ratings                 bigint NOT NULL DEFAULT 0,
    ratings_satisfied       bigint NOT NULL DEFAULT 0,
    open_delta              bigint NOT NULL DEFAULT 0,
    paused_delta            bigint NOT NULL DEFAULT 0,
    overdue_delta           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency_code, procedure_code)
);

CREATE TABLE rollup_monthly (
    month                   integer NOT NULL,
    agency_code             text NOT NULL,
    procedure_code          text NOT NULL,
    received                bigint NOT NULL DEFAULT 0,
    received_online         bigint NOT NULL DEFAULT 0,
    received_postal         bigint NOT NULL DEFAULT 0,
    received_by_post        bigint NOT NULL DEFAULT 0,
    processed               bigint NOT NULL DEFAULT 0,
    processed_early         bigint NOT NULL DEFAULT 0,
    processed_on_time       bigint NOT NULL DEFAULT 0,
    processed_late          bigint NOT NULL DEFAULT 0,
    processing_minutes      bigint NOT NULL DEFAULT 0,
    withdrawn               bigint NOT NULL DEFAULT 0,
    stopped                 bigint NOT NULL DEFAULT 0,
    refused_after_reception bigint NOT NULL DEFAULT 0,
    returned_postal         bigint NOT NULL DEFAULT 0,
    apologies               bigint NOT NULL DEFAULT 0,
    apologies_late          bigint NOT NULL DEFAULT 0,
    ratings                 bigint NOT NULL DEFAULT 0,
    ratings_satisfied       bigint NOT NULL DEFAULT 0,
    open_delta              bigint NOT NULL DEFAULT 0,
    paused_delta            bigint NOT NULL DEFAULT 0,
    overdue_delta           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, agency_code, procedure_code)
);

-- Where each received, still open dossier stands for the roll-ups
-- (domain.StatState): the row goes when the dossier closes.
CREATE TABLE rollup_open (
    dossier_id bigint PRIMARY KEY,
    since      TIMESTAMP NOT NULL,
    paused     boolean NOT NULL,
    due_at     TIMESTAMP
);

-- +goose Down
DROP TABLE rollup_open;
DROP TABLE rollup_monthly;
DROP TABLE rollup_daily;
