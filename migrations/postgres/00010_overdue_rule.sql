-- +goose Up
-- The one overdue rule (docs/reports.md): a dossier (or the step its unit
-- holds) is overdue at T when overdue_from < T. overdue_from is written by
-- storage from domain.Dossier.OverdueFrom / StepOverdueFrom in every command:
-- the legal deadline of a running clock, or of a clock paused after it; NULL
-- when closed, finished, or paused with time left.
ALTER TABLE dossiers ADD COLUMN overdue_from timestamptz;
ALTER TABLE dossier_steps ADD COLUMN overdue_from timestamptz;

UPDATE dossiers SET overdue_from = due_at
 WHERE status IN (2, 4) AND running_since IS NOT NULL AND due_at IS NOT NULL;
UPDATE dossiers SET overdue_from = due_at
 WHERE status IN (5, 6) AND due_at IS NOT NULL
   AND due_at < (SELECT max(p.started_at) FROM dossier_pauses p WHERE p.dossier_id = dossiers.id AND p.ended_at IS NULL);
UPDATE dossier_steps SET overdue_from = due_at
 WHERE finished_at IS NULL AND due_at IS NOT NULL
   AND EXISTS (SELECT 1 FROM dossiers d WHERE d.id = dossier_steps.dossier_id AND d.current_step = dossier_steps.seq
               AND ((d.status IN (2, 4) AND dossier_steps.running_since IS NOT NULL)
                 OR (d.status IN (5, 6) AND dossier_steps.due_at <
                     (SELECT max(p.started_at) FROM dossier_pauses p WHERE p.dossier_id = d.id AND p.ended_at IS NULL))));

DROP INDEX dossiers_open_due_idx;
CREATE INDEX dossiers_overdue_idx ON dossiers (overdue_from, id) WHERE overdue_from IS NOT NULL;
CREATE INDEX dossier_steps_overdue_idx ON dossier_steps (overdue_from, dossier_id, seq) WHERE overdue_from IS NOT NULL;

-- What was overdue at a past instant, as it stood then: one row per version
-- of a dossier's (kind 0) or held step's (kind 1) overdue state, valid from
-- valid_from until valid_to (NULL: still in force), overdue at T when
-- valid_from <= T < valid_to and overdue_from < T. Written in the command's
-- transaction; a version that never became overdue is deleted when it ends.
CREATE TABLE overdue_spans (
    id               bigserial PRIMARY KEY,
    dossier_id       bigint NOT NULL REFERENCES dossiers (id),
    kind             smallint NOT NULL,
    step_seq         integer NOT NULL,
    step_name        text NOT NULL DEFAULT '',
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    overdue_from     timestamptz NOT NULL,
    status           smallint NOT NULL,
    holder_code      text NOT NULL,
    lead_agency_code text NOT NULL,
    agency_code      text NOT NULL,
    procedure_code   text NOT NULL
);
CREATE INDEX overdue_spans_current_idx ON overdue_spans (dossier_id) WHERE valid_to IS NULL;
CREATE INDEX overdue_spans_during_idx ON overdue_spans USING gist (tstzrange(valid_from, valid_to, '[)'));
INSERT INTO overdue_spans (dossier_id, kind, step_seq, valid_from, overdue_from, status, holder_code, lead_agency_code, agency_code, procedure_code)
SELECT id, 0, 0, updated_at, overdue_from, status, holder_code, lead_agency_code, agency_code, procedure_code
  FROM dossiers WHERE overdue_from IS NOT NULL;
INSERT INTO overdue_spans (dossier_id, kind, step_seq, step_name, valid_from, overdue_from, status, holder_code, lead_agency_code, agency_code, procedure_code)
SELECT d.id, 1, s.seq, s.name, d.updated_at, s.overdue_from, d.status, s.agency_code, d.lead_agency_code, d.agency_code, d.procedure_code
  FROM dossier_steps s JOIN dossiers d ON d.id = s.dossier_id WHERE s.overdue_from IS NOT NULL;

-- How a payment was received (online or counter), for Decision 766's 3.6.
ALTER TABLE dossier_pauses ADD COLUMN method text NOT NULL DEFAULT '';

-- The processing control slip per officer: who finished the step (token
-- subject and name) and by how many working minutes it overran its allotment.
ALTER TABLE dossier_handoffs ADD COLUMN actor text NOT NULL DEFAULT '';
ALTER TABLE dossier_handoffs ADD COLUMN actor_name text NOT NULL DEFAULT '';
ALTER TABLE dossier_handoffs ADD COLUMN overrun_minutes bigint NOT NULL DEFAULT 0;
CREATE INDEX dossier_handoffs_at_idx ON dossier_handoffs (at);
-- The lateness report's dossiers late in a period and their first late step.
CREATE INDEX dossiers_processed_late_idx ON dossiers (processed_at) WHERE verdict = 'late';
CREATE INDEX dossier_handoffs_late_idx ON dossier_handoffs (dossier_id, step_seq) WHERE verdict = 'late' AND step_seq > 0;

-- The lateness report's roll-ups: per local date (YYYYMMDD) or calendar month
-- (YYYYMM), unit and officer who finished the step, the control slip's
-- counters, kept in the transaction that writes the hand-offs. A release
-- installed over existing data starts them empty (motcua seed fills them).
CREATE TABLE lateness_daily (
    day           integer NOT NULL,
    unit_code     text NOT NULL,
    actor         text NOT NULL,
    actor_name    text NOT NULL DEFAULT '',
    steps         bigint NOT NULL DEFAULT 0,
    early         bigint NOT NULL DEFAULT 0,
    on_time       bigint NOT NULL DEFAULT 0,
    late          bigint NOT NULL DEFAULT 0,
    late_minutes  bigint NOT NULL DEFAULT 0,
    dossiers_late bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit_code, actor)
);
CREATE TABLE lateness_monthly (
    month           integer NOT NULL,
    unit_code     text NOT NULL,
    actor         text NOT NULL,
    actor_name    text NOT NULL DEFAULT '',
    steps         bigint NOT NULL DEFAULT 0,
    early         bigint NOT NULL DEFAULT 0,
    on_time       bigint NOT NULL DEFAULT 0,
    late          bigint NOT NULL DEFAULT 0,
    late_minutes  bigint NOT NULL DEFAULT 0,
    dossiers_late bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit_code, actor)
);

-- +goose Down
DROP TABLE lateness_monthly;
DROP TABLE lateness_daily;
DROP INDEX dossier_handoffs_late_idx;
DROP INDEX dossiers_processed_late_idx;
DROP INDEX dossier_handoffs_at_idx;
ALTER TABLE dossier_handoffs DROP COLUMN overrun_minutes;
ALTER TABLE dossier_handoffs DROP COLUMN actor_name;
ALTER TABLE dossier_handoffs DROP COLUMN actor;
ALTER TABLE dossier_pauses DROP COLUMN method;
DROP TABLE overdue_spans;
DROP INDEX dossier_steps_overdue_idx;
DROP INDEX dossiers_overdue_idx;
CREATE INDEX dossiers_open_due_idx ON dossiers (due_at, id) WHERE status IN (2, 4);
ALTER TABLE dossier_steps DROP COLUMN overdue_from;
ALTER TABLE dossiers DROP COLUMN overdue_from;
