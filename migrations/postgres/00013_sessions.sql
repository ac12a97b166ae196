-- +goose Up
-- The pages' staff sessions, so that they can be ended on the server: the
-- sealed cookie names a row here and every use checks that the row is still
-- live (not ended, not expired), on whichever instance the request reaches.
-- id is the SHA-256 (hex) of the session id the cookie carries, so a copy of
-- this table names no usable session. Rows past expires_at are deleted a day
-- later.
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    sub        text NOT NULL,
    via        text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX sessions_sub_idx ON sessions (sub) WHERE ended_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
