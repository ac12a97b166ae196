-- +goose Up
-- SQLite: times are TIMESTAMP columns (the driver decodes that declared type
-- into time.Time), kept as fixed-width UTC text so text order is time order.
-- The whole schema of the first release: catalogue, calendar, dossiers with
-- their steps, pauses, history and control slip, the outbox, the watcher's
-- claims and idempotency keys. Times are TIMESTAMP in UTC.

CREATE TABLE agencies (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    parent_code  text REFERENCES agencies (code),
    path         text NOT NULL,
    office_hours text,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX agencies_path_idx ON agencies (path);
CREATE INDEX agencies_parent_idx ON agencies (parent_code);

CREATE TABLE procedures (
    code            text PRIMARY KEY,
    current_version integer NOT NULL,
    name            text NOT NULL,
    agency_code     text NOT NULL REFERENCES agencies (code),
    online          text NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX procedures_agency_idx ON procedures (agency_code);

CREATE TABLE procedure_versions (
    procedure_code   text NOT NULL REFERENCES procedures (code),
    version          integer NOT NULL,
    name             text NOT NULL,
    agency_code      text NOT NULL,
    duration_unit    text NOT NULL,
    duration_amount  real NOT NULL,
    duration_minutes bigint NOT NULL,
    supplement_clock text NOT NULL,
    online           text NOT NULL,
    steps            text NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (procedure_code, version)
);

CREATE TABLE calendar_days (
    day         text NOT NULL,
    agency_code text NOT NULL DEFAULT '',
    kind        text NOT NULL,
    name        text NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (day, agency_code)
);

CREATE TABLE dossier_sequences (
    agency_code text NOT NULL,
    day         text NOT NULL,
    last_seq    bigint NOT NULL,
    PRIMARY KEY (agency_code, day)
);

CREATE TABLE dossiers (
    id                  integer PRIMARY KEY AUTOINCREMENT,
    code                text NOT NULL UNIQUE,
    agency_code         text NOT NULL,
    lead_agency_code    text NOT NULL,
    procedure_code      text NOT NULL,
    procedure_version   integer NOT NULL,
    supplement_clock    text NOT NULL,
    channel             text NOT NULL,
    delivery            text NOT NULL,
    status              smallint NOT NULL,
    applicant_name      text NOT NULL,
    applicant_id_number text NOT NULL,
    applicant_phone     text NOT NULL DEFAULT '',
    applicant_email     text NOT NULL DEFAULT '',
    applicant_address   text NOT NULL DEFAULT '',
    documents           text NOT NULL DEFAULT '[]',
    pin_hash            text NOT NULL,
    pin_failures        integer NOT NULL DEFAULT 0,
    pin_locked_until    TIMESTAMP,
    received_at         TIMESTAMP NOT NULL,
    counting_from       TIMESTAMP,
    budget_minutes      bigint NOT NULL,
    used_minutes        bigint NOT NULL DEFAULT 0,
    running_since       TIMESTAMP,
    due_at              TIMESTAMP,
    original_due_at     TIMESTAMP,
    promised_at         TIMESTAMP,
    extension_reason    text,
    extended_at         TIMESTAMP,
    extension_late      boolean,
    result              text,
    verdict             text NOT NULL DEFAULT '',
    processed_at        TIMESTAMP,
    returned_at         TIMESTAMP,
    return_method       text,
    closed_at           TIMESTAMP,
    current_step        integer NOT NULL DEFAULT 0,
    holder_code         text NOT NULL DEFAULT '',
    next_deadline_at    TIMESTAMP,
    rating              smallint,
    rating_comment      text,
    rated_at            TIMESTAMP,
    version             integer NOT NULL DEFAULT 1,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX dossiers_received_idx ON dossiers (received_at, id);
CREATE INDEX dossiers_agency_received_idx ON dossiers (agency_code, received_at, id);
CREATE INDEX dossiers_lead_received_idx ON dossiers (lead_agency_code, received_at, id);
CREATE INDEX dossiers_procedure_received_idx ON dossiers (procedure_code, received_at, id);
CREATE INDEX dossiers_status_idx ON dossiers (status, id);
CREATE INDEX dossiers_holder_idx ON dossiers (holder_code, status);
-- The overdue list: open dossiers whose clock runs, by deadline.
CREATE INDEX dossiers_open_due_idx ON dossiers (due_at, id) WHERE status IN (2, 4);
-- The deadline watcher: only dossiers with a deadline still to pass.
CREATE INDEX dossiers_next_deadline_idx ON dossiers (next_deadline_at) WHERE next_deadline_at IS NOT NULL;

CREATE TABLE dossier_steps (
    dossier_id       bigint NOT NULL REFERENCES dossiers (id),
    seq              integer NOT NULL,
    name             text NOT NULL,
    agency_code      text NOT NULL,
    allotted_minutes bigint NOT NULL,
    used_minutes     bigint NOT NULL DEFAULT 0,
    running_since    TIMESTAMP,
    started_at       TIMESTAMP,
    due_at           TIMESTAMP,
    finished_at      TIMESTAMP,
    verdict          text NOT NULL DEFAULT 'open',
    PRIMARY KEY (dossier_id, seq)
);
CREATE INDEX dossier_steps_open_due_idx ON dossier_steps (due_at) WHERE finished_at IS NULL AND started_at IS NOT NULL;

CREATE TABLE dossier_pauses (
    id         integer PRIMARY KEY AUTOINCREMENT,
    dossier_id bigint NOT NULL REFERENCES dossiers (id),
    kind       text NOT NULL,
    clock      text NOT NULL,
    reason     text NOT NULL,
    items      text NOT NULL DEFAULT '[]',
    amount     bigint NOT NULL DEFAULT 0,
    started_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP
);
CREATE INDEX dossier_pauses_dossier_idx ON dossier_pauses (dossier_id, id);

CREATE TABLE dossier_history (
    id          integer PRIMARY KEY AUTOINCREMENT,
    dossier_id  bigint NOT NULL REFERENCES dossiers (id),
    at          TIMESTAMP NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    from_status smallint NOT NULL,
    to_status   smallint NOT NULL,
    note        text NOT NULL DEFAULT '',
    due_at      TIMESTAMP,
    promised_at TIMESTAMP,
    step_due_at TIMESTAMP
);
CREATE INDEX dossier_history_dossier_idx ON dossier_history (dossier_id, id);

CREATE TABLE dossier_handoffs (
    id         integer PRIMARY KEY AUTOINCREMENT,
    dossier_id bigint NOT NULL REFERENCES dossiers (id),
    step_seq   integer NOT NULL,
    from_unit  text NOT NULL,
    to_unit    text NOT NULL,
    at         TIMESTAMP NOT NULL,
    verdict    text NOT NULL
);
CREATE INDEX dossier_handoffs_dossier_idx ON dossier_handoffs (dossier_id, id);

CREATE TABLE idempotency_keys (
    actor        text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    dossier_code text NOT NULL,
    -- The PIN of the first answer, so a retried intake shows it again; the
    -- row is pruned when the key expires.
    lookup_pin   text NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE outbox (
    seq          integer PRIMARY KEY AUTOINCREMENT,
    id           text NOT NULL UNIQUE,
    subject      text NOT NULL,
    type         text NOT NULL,
    dossier_code text NOT NULL,
    data         text NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    parked_at    TIMESTAMP
);
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- One row per (dossier, kind of late event, step, deadline): the watcher's
-- claim that makes a second instance or a retry harmless.
CREATE TABLE deadline_claims (
    dossier_id  bigint NOT NULL,
    kind        text NOT NULL,
    step_seq    integer NOT NULL,
    deadline_at TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (dossier_id, kind, step_seq, deadline_at)
);

-- +goose Down
DROP TABLE deadline_claims;
DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE dossier_handoffs;
DROP TABLE dossier_history;
DROP TABLE dossier_pauses;
DROP TABLE dossier_steps;
DROP TABLE dossiers;
DROP TABLE dossier_sequences;
DROP TABLE calendar_days;
DROP TABLE procedure_versions;
DROP TABLE procedures;
DROP TABLE agencies;
