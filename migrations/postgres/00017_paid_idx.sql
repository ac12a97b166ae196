-- +goose Up
-- The scorecard's 3.6 counts the dossiers with a payment received in the
-- period (store.Payments): the payments received, by when, instead of a scan
-- of every pause (docs/reports.md, "The scorecard's roll-ups").
CREATE INDEX dossier_pauses_paid_idx ON dossier_pauses (ended_at) WHERE kind = 'payment' AND method <> '';

-- +goose Down
DROP INDEX dossier_pauses_paid_idx;
