-- +goose Up
-- cache_versions: one counter per cached kind of data. Every change of the
-- catalogue (agencies, their office hours, procedures) or of the calendar's
-- recorded days bumps the 'catalogue' row in its own transaction, and every
-- instance checks the counter before it uses a cached calendar or name, so
-- an acknowledged change counts on all instances at once.
CREATE TABLE cache_versions (
    name    text PRIMARY KEY,
    version bigint NOT NULL
);
INSERT INTO cache_versions (name, version) VALUES ('catalogue', 1);

-- calendar_recomputes: a durable job per recorded or removed day. The open
-- dossiers it touches are recomputed in batches, each batch in its own
-- transaction that also moves after_id, so a job survives a crash or a
-- restart and goes on where it stopped.
CREATE TABLE calendar_recomputes (
    id          bigserial PRIMARY KEY,
    day         text NOT NULL,
    agency_code text NOT NULL DEFAULT '',
    action      text NOT NULL,
    note        text NOT NULL,
    actor       text NOT NULL,
    after_id    bigint NOT NULL DEFAULT 0,
    seen        bigint NOT NULL DEFAULT 0,
    moved       bigint NOT NULL DEFAULT 0,
    batches     integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX calendar_recomputes_pending_idx ON calendar_recomputes (id) WHERE finished_at IS NULL;

-- +goose Down
DROP TABLE calendar_recomputes;
DROP TABLE cache_versions;
