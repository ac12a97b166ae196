-- +goose Up
-- Published events move out of the outbox into outbox_published, in the same
-- statement that records JetStream's acknowledgement. Marking a row
-- published used to be an UPDATE: a new version of the whole row (its data
-- included) and three index entries. A move costs half as much in
-- PostgreSQL, which is the relay's bottleneck, and the outbox now holds only
-- what is pending or parked: its reads stay small whatever the retention, and
-- pruning never touches it. outbox_published keeps the row for
-- OUTBOX_RETENTION (what was published, when, how many attempts it took).
CREATE TABLE outbox_published (
    seq          integer PRIMARY KEY,
    id           text NOT NULL,
    subject      text NOT NULL,
    type         text NOT NULL,
    dossier_code text NOT NULL,
    data         text NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP NOT NULL,
    attempts     integer NOT NULL
);
INSERT INTO outbox_published (seq, id, subject, type, dossier_code, data, occurred_at, created_at, published_at, attempts)
    SELECT seq, id, subject, type, dossier_code, data, occurred_at, created_at, published_at, attempts
    FROM outbox WHERE published_at IS NOT NULL;
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_published_idx;
DROP INDEX outbox_pending_idx;
ALTER TABLE outbox DROP COLUMN published_at;
-- Pending is now every row not parked. Parked rows stay until an operator
-- deals with them; the relay's reads (seq > cursor ORDER BY seq) skip them
-- through this index rather than row by row.
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE parked_at IS NULL;

-- +goose Down
DROP INDEX outbox_pending_idx;
ALTER TABLE outbox ADD COLUMN published_at TIMESTAMP;
INSERT INTO outbox (seq, id, subject, type, dossier_code, data, occurred_at, created_at, published_at, attempts)
    SELECT seq, id, subject, type, dossier_code, data, occurred_at, created_at, published_at, attempts
    FROM outbox_published;
DROP TABLE outbox_published;
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
