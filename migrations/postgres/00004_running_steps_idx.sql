-- +goose Up
-- The overdue list's steps: only running steps (the current step of a dossier
-- whose clock runs), by deadline. dossier_steps_open_due_idx also holds the
-- unfinished steps of dossiers that were withdrawn, stopped or paused, which
-- pile up with the years and which the list would have to skip.
CREATE INDEX dossier_steps_running_due_idx ON dossier_steps (due_at, dossier_id, seq) WHERE running_since IS NOT NULL;

-- +goose Down
DROP INDEX dossier_steps_running_due_idx;
