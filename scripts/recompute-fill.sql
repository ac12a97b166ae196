-- Fills a seeded PostgreSQL database with :copies copies of every open
-- dossier whose clock runs and whose deadline falls on or after :from, with
-- their steps and roll-up state, so a day off on :day (before every such
-- deadline) moves them all: the data of the national recompute benchmark
-- (docs/benchmarks.md). Usage, after `motcua seed --dossiers 100000 --now
-- 2026-11-20T10:00:00+07:00`:
--   psql "$DATABASE_URL" -v copies=937 -v from="'2026-11-24'" -f scripts/recompute-fill.sql
\set ON_ERROR_STOP on
CREATE TEMP TABLE tmpl AS
    SELECT id FROM dossiers WHERE status IN (2, 4) AND running_since IS NOT NULL AND due_at >= :from::timestamptz;
INSERT INTO dossiers (code, agency_code, lead_agency_code, procedure_code, procedure_version, supplement_clock, channel,
    delivery, status, applicant_name, applicant_id_number, applicant_phone, applicant_email, applicant_address, documents,
    pin_hash, pin_failures, pin_locked_until, received_at, counting_from, budget_minutes, used_minutes, running_since, due_at,
    original_due_at, promised_at, extension_reason, extended_at, extension_late, result, verdict, processed_at, returned_at,
    return_method, closed_at, current_step, holder_code, next_deadline_at, rating, rating_comment, rated_at, version,
    created_at, updated_at)
SELECT d.code || '~' || g, agency_code, lead_agency_code, procedure_code, procedure_version, supplement_clock, channel,
    delivery, status, applicant_name, applicant_id_number, applicant_phone, applicant_email, applicant_address, documents,
    pin_hash, pin_failures, pin_locked_until, received_at, counting_from, budget_minutes, used_minutes, running_since, due_at,
    original_due_at, promised_at, extension_reason, extended_at, extension_late, result, verdict, processed_at, returned_at,
    return_method, closed_at, current_step, holder_code, next_deadline_at, rating, rating_comment, rated_at, version,
    created_at, updated_at
FROM dossiers d JOIN tmpl t ON t.id = d.id CROSS JOIN generate_series(1, :copies) g
ORDER BY g, d.id;
CREATE TEMP TABLE copies AS
    SELECT n.id AS new_id, o.id AS old_id FROM dossiers n JOIN dossiers o ON o.code = split_part(n.code, '~', 1)
    WHERE n.code LIKE '%~%';
INSERT INTO dossier_steps (dossier_id, seq, name, agency_code, allotted_minutes, used_minutes, running_since, started_at,
    due_at, finished_at, verdict)
SELECT c.new_id, s.seq, s.name, s.agency_code, s.allotted_minutes, s.used_minutes, s.running_since, s.started_at,
    s.due_at, s.finished_at, s.verdict
FROM dossier_steps s JOIN copies c ON c.old_id = s.dossier_id;
INSERT INTO rollup_open (dossier_id, since, paused, due_at)
SELECT c.new_id, r.since, r.paused, r.due_at FROM rollup_open r JOIN copies c ON c.old_id = r.dossier_id;
ANALYZE dossiers;
ANALYZE dossier_steps;
ANALYZE rollup_open;
SELECT count(*) AS affected FROM dossiers WHERE status IN (2, 4) AND running_since IS NOT NULL AND due_at >= :from::timestamptz;
