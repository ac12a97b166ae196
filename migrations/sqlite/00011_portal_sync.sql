-- +goose Up
-- The national portal's copy of each dossier (docs: README, National portal
-- sync): one row per dossier, written only by the sync, in a transaction of
-- its own after each call the portal acknowledged. entries_acked is how many
-- history lines (in id order) the portal acknowledged as progress entries;
-- record_hash is the hash of the last record it acknowledged. wanted counts
-- the events seen for the dossier, so a worker that finishes never clears
-- work an event asked for meanwhile. claim and next_attempt_at make a worker's
-- lease (and a retry's time); inflight names the call under way, so a call
-- whose answer was lost in a crash is known when the dossier is taken again.
CREATE TABLE portal_sync (
    dossier_code     text PRIMARY KEY,
    wanted           integer NOT NULL DEFAULT 0,
    pending          boolean NOT NULL DEFAULT false,
    pending_since    TIMESTAMP,
    next_attempt_at  TIMESTAMP,
    claim            text,
    inflight         text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text NOT NULL DEFAULT '',
    parked_at        TIMESTAMP,
    record_hash      text NOT NULL DEFAULT '',
    record_synced_at TIMESTAMP,
    entries_acked    integer NOT NULL DEFAULT 0,
    synced_at        TIMESTAMP,
    resent           integer NOT NULL DEFAULT 0,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX portal_sync_due_idx ON portal_sync (next_attempt_at) WHERE pending AND parked_at IS NULL;
CREATE INDEX portal_sync_parked_idx ON portal_sync (parked_at) WHERE parked_at IS NOT NULL;
CREATE INDEX portal_sync_record_idx ON portal_sync (record_synced_at) WHERE record_synced_at IS NOT NULL;

-- +goose Down
DROP TABLE portal_sync;
