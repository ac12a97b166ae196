-- +goose Up
-- The person behind each history line as people read it: the token's name
-- and title (chức danh), beside the subject kept in actor for machines. The
-- processing control slip, the lateness report and the national portal's
-- progress entries name the officer by these.
ALTER TABLE dossier_history ADD COLUMN actor_name text NOT NULL DEFAULT '';
ALTER TABLE dossier_history ADD COLUMN actor_title text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE dossier_history DROP COLUMN actor_title;
ALTER TABLE dossier_history DROP COLUMN actor_name;
