-- +goose Up
-- The channels the applicant consented to be told by ("sms,email", "" for
-- none), and one row per message to send: per (event, channel), written
-- before the message goes and updated after, so a message goes once and is
-- never lost (docs: README, Notifications). The recipient is kept masked.
ALTER TABLE dossiers ADD COLUMN notify text NOT NULL DEFAULT '';
CREATE TABLE notifications (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL,
    channel      text NOT NULL,
    dossier_code text NOT NULL,
    event        text NOT NULL,
    recipient    text NOT NULL,
    status       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    occurred_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    next_at      timestamptz NOT NULL,
    sent_at      timestamptz,
    updated_at   timestamptz NOT NULL,
    UNIQUE (event_id, channel)
);
CREATE INDEX notifications_dossier_idx ON notifications (dossier_code, channel, id);
CREATE INDEX notifications_pending_idx ON notifications (next_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE notifications;
ALTER TABLE dossiers DROP COLUMN notify;
