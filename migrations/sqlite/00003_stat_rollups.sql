-- +goose Up
-- SQLite twin of postgres/00003_stat_rollups.sql.
-- The same roll-ups per statistical month (15th of one month to the 14th of
-- the next, keyed by the YYYYMM it ends in; domain.StatMonthNumber), so the
-- government's statistical periods read whole months too, never days.
CREATE TABLE rollup_stat_monthly (
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

-- +goose Down
DROP TABLE rollup_stat_monthly;
