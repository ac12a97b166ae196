package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

type dossierRow struct {
	ID                int64 `gorm:"primaryKey"`
	Code              string
	AgencyCode        string
	LeadAgencyCode    string
	ProcedureCode     string
	ProcedureVersion  int
	SupplementClock   string
	Channel           string
	Delivery          string
	Status            int
	ApplicantName     string
	ApplicantIDNumber string `gorm:"column:applicant_id_number"`
	ApplicantPhone    string
	ApplicantEmail    string
	ApplicantAddress  string
	Documents         string
	Notify            string
	PINHash           string     `gorm:"column:pin_hash"`
	PINFailures       int        `gorm:"column:pin_failures"`
	PINLockedUntil    *time.Time `gorm:"column:pin_locked_until"`
	ReceivedAt        time.Time
	CountingFrom      *time.Time
	BudgetMinutes     int64
	UsedMinutes       int64
	RunningSince      *time.Time
	DueAt             *time.Time
	OriginalDueAt     *time.Time
	PromisedAt        *time.Time
	ExtensionReason   *string
	ExtendedAt        *time.Time
	ExtensionLate     *bool
	Result            *string
	Verdict           string
	ProcessedAt       *time.Time
	ReturnedAt        *time.Time
	ReturnMethod      *string
	ClosedAt          *time.Time
	CurrentStep       int
	HolderCode        string
	NextDeadlineAt    *time.Time
	OverdueFrom       *time.Time
	Rating            *int
	RatingComment     *string
	RatedAt           *time.Time
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (dossierRow) TableName() string { return "dossiers" }

type stepRow struct {
	DossierID       int64 `gorm:"primaryKey"`
	Seq             int   `gorm:"primaryKey"`
	Name            string
	AgencyCode      string
	AllottedMinutes int64
	UsedMinutes     int64
	RunningSince    *time.Time
	StartedAt       *time.Time
	DueAt           *time.Time
	FinishedAt      *time.Time
	Verdict         string
	OverdueFrom     *time.Time
}

func (stepRow) TableName() string { return "dossier_steps" }

type pauseRow struct {
	ID        int64 `gorm:"primaryKey"`
	DossierID int64
	Kind      string
	Clock     string
	Reason    string
	Items     string
	Amount    int64
	Method    string
	StartedAt time.Time
	EndedAt   *time.Time
}

func (pauseRow) TableName() string { return "dossier_pauses" }

type historyRow struct {
	ID         int64 `gorm:"primaryKey"`
	DossierID  int64
	At         time.Time
	Actor      string
	ActorName  string
	ActorTitle string
	Action     string
	FromStatus int
	ToStatus   int
	Note       string
	DueAt      *time.Time
	PromisedAt *time.Time
	StepDueAt  *time.Time
}

func (historyRow) TableName() string { return "dossier_history" }

type handoffRow struct {
	ID             int64 `gorm:"primaryKey"`
	DossierID      int64
	StepSeq        int
	FromUnit       string
	ToUnit         string
	At             time.Time
	Verdict        string
	Actor          string
	ActorName      string
	OverrunMinutes int64
}

func (handoffRow) TableName() string { return "dossier_handoffs" }

type outboxRow struct {
	Seq         int64 `gorm:"primaryKey"`
	ID          string
	Subject     string
	Type        string
	DossierCode string
	Data        string
	OccurredAt  time.Time
	CreatedAt   time.Time
	Attempts    int
	LastError   *string
	ParkedAt    *time.Time
}

func (outboxRow) TableName() string { return "outbox" }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toDossierRow(d *domain.Dossier) dossierRow {
	docs, _ := json.Marshal(nonNil(d.Documents))
	r := dossierRow{
		ID: d.ID, Code: d.Code, AgencyCode: d.AgencyCode, LeadAgencyCode: d.LeadAgencyCode,
		ProcedureCode: d.ProcedureCode, ProcedureVersion: d.ProcedureVersion, SupplementClock: string(d.SupplementClock),
		Channel: string(d.Channel), Delivery: string(d.Delivery), Status: int(d.Status),
		ApplicantName: d.Applicant.Name, ApplicantIDNumber: d.Applicant.IDNumber, ApplicantPhone: d.Applicant.Phone,
		ApplicantEmail: d.Applicant.Email, ApplicantAddress: d.Applicant.Address, Documents: string(docs), Notify: d.Notify.String(),
		PINHash: d.PINHash, ReceivedAt: ts(d.ReceivedAt), CountingFrom: tsp(d.CountingFrom),
		BudgetMinutes: d.Clock.Budget, UsedMinutes: d.Clock.Used, RunningSince: tsp(d.Clock.RunningSince),
		DueAt: tsp(d.Clock.DueAt), OriginalDueAt: tsp(d.OriginalDue), Result: strp(d.Result), Verdict: string(d.Verdict),
		ProcessedAt: tsp(d.ProcessedAt), ReturnedAt: tsp(d.ReturnedAt), ReturnMethod: strp(string(d.ReturnMethod)),
		ClosedAt: tsp(d.ClosedAt), CurrentStep: d.CurrentStep, HolderCode: d.HolderCode, NextDeadlineAt: tsp(d.NextCheckAt),
		OverdueFrom:   tsp(d.OverdueFrom()),
		RatingComment: strp(d.RatingComment), RatedAt: tsp(d.RatedAt), Version: d.Version,
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt),
	}
	if d.Rating > 0 {
		v := d.Rating
		r.Rating = &v
	}
	if e := d.Extension; e != nil {
		r.PromisedAt = tsp(&e.NewDueAt)
		r.ExtensionReason = &e.Reason
		r.ExtendedAt = tsp(&e.RecordedAt)
		late := e.Late
		r.ExtensionLate = &late
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r dossierRow) domain() *domain.Dossier {
	d := &domain.Dossier{
		ID: r.ID, Code: r.Code, AgencyCode: r.AgencyCode, LeadAgencyCode: r.LeadAgencyCode, ProcedureCode: r.ProcedureCode,
		ProcedureVersion: r.ProcedureVersion, SupplementClock: domain.SupplementClock(r.SupplementClock),
		Channel: domain.Channel(r.Channel), Delivery: domain.Delivery(r.Delivery), Status: domain.Status(r.Status),
		Applicant: domain.Applicant{Name: r.ApplicantName, IDNumber: r.ApplicantIDNumber, Phone: r.ApplicantPhone,
			Email: r.ApplicantEmail, Address: r.ApplicantAddress},
		Notify:  domain.ParseConsent(r.Notify),
		PINHash: r.PINHash, ReceivedAt: r.ReceivedAt, CountingFrom: r.CountingFrom,
		Clock:       domain.TimeBudget{Budget: r.BudgetMinutes, Used: r.UsedMinutes, RunningSince: r.RunningSince, DueAt: r.DueAt},
		OriginalDue: r.OriginalDueAt, Result: deref(r.Result), Verdict: domain.Verdict(r.Verdict),
		ProcessedAt: r.ProcessedAt, ReturnedAt: r.ReturnedAt, ReturnMethod: domain.Delivery(deref(r.ReturnMethod)),
		ClosedAt: r.ClosedAt, CurrentStep: r.CurrentStep, HolderCode: r.HolderCode, NextCheckAt: r.NextDeadlineAt,
		RatingComment: deref(r.RatingComment), RatedAt: r.RatedAt, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal([]byte(r.Documents), &d.Documents)
	if r.Rating != nil {
		d.Rating = *r.Rating
	}
	if r.PromisedAt != nil {
		d.Extension = &domain.Extension{Reason: deref(r.ExtensionReason), NewDueAt: *r.PromisedAt}
		if r.ExtendedAt != nil {
			d.Extension.RecordedAt = *r.ExtendedAt
		}
		if r.ExtensionLate != nil {
			d.Extension.Late = *r.ExtensionLate
		}
	}
	return d
}

// toStepRow is the row of one of d's steps.
func toStepRow(d *domain.Dossier, s domain.Step) stepRow {
	return stepRow{DossierID: d.ID, OverdueFrom: tsp(d.StepOverdueFrom(s.Seq)), Seq: s.Seq, Name: s.Name, AgencyCode: s.AgencyCode, AllottedMinutes: s.Clock.Budget,
		UsedMinutes: s.Clock.Used, RunningSince: tsp(s.Clock.RunningSince), StartedAt: tsp(s.StartedAt), DueAt: tsp(s.Clock.DueAt),
		FinishedAt: tsp(s.FinishedAt), Verdict: string(s.Verdict)}
}

func (r stepRow) domain() domain.Step {
	return domain.Step{Seq: r.Seq, Name: r.Name, AgencyCode: r.AgencyCode,
		Clock:     domain.TimeBudget{Budget: r.AllottedMinutes, Used: r.UsedMinutes, RunningSince: r.RunningSince, DueAt: r.DueAt},
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Verdict: domain.Verdict(r.Verdict)}
}

func toPauseRow(id int64, p domain.Pause) pauseRow {
	items, _ := json.Marshal(nonNil(p.Items))
	return pauseRow{ID: p.ID, DossierID: id, Kind: string(p.Kind), Clock: string(p.Clock), Reason: p.Reason, Items: string(items),
		Amount: p.Amount, Method: string(p.Method), StartedAt: ts(p.StartedAt), EndedAt: tsp(p.EndedAt)}
}

func (r pauseRow) domain() domain.Pause {
	p := domain.Pause{ID: r.ID, Kind: domain.PauseKind(r.Kind), Clock: domain.SupplementClock(r.Clock), Reason: r.Reason,
		Amount: r.Amount, Method: domain.PaymentMethod(r.Method), StartedAt: r.StartedAt, EndedAt: r.EndedAt}
	_ = json.Unmarshal([]byte(r.Items), &p.Items)
	return p
}

// Dossier loads a dossier with its steps, pauses, handoffs and history.
// Outside a transaction on PostgreSQL its six queries go in one round trip
// (dossierPiped, store/dossier_read.go).
func (q queries) Dossier(ctx context.Context, code string) (*domain.Dossier, error) {
	if q.pgPool() != nil {
		return q.dossierPiped(ctx, code)
	}
	var r dossierRow
	if err := q.ctx(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return nil, translate(err, "dossier "+code)
	}
	d := r.domain()
	if _, err := q.loadChildren(ctx, d, true); err != nil {
		return nil, err
	}
	return d, nil
}

// loadChildren reads d's steps and pauses, and with history its hand-offs,
// history and notifications; it returns the rows read.
func (q queries) loadChildren(ctx context.Context, d *domain.Dossier, history bool) (*asLoaded, error) {
	var steps []stepRow
	if err := q.ctx(ctx).Where("dossier_id = ?", d.ID).Order("seq").Find(&steps).Error; err != nil {
		return nil, translate(err, "steps")
	}
	var pauses []pauseRow
	if err := q.ctx(ctx).Where("dossier_id = ?", d.ID).Order("id").Find(&pauses).Error; err != nil {
		return nil, translate(err, "pauses")
	}
	seen := withChildren(d, steps, pauses)
	if !history {
		return seen, nil
	}
	return seen, q.loadHistory(ctx, d)
}

// withChildren gives d its steps and pauses from their rows, and returns
// the rows as read.
func withChildren(d *domain.Dossier, steps []stepRow, pauses []pauseRow) *asLoaded {
	seen := &asLoaded{steps: make(map[int]stepRow, len(steps)), pauses: make(map[int64]pauseRow, len(pauses))}
	d.Steps = domains[domain.Step](steps)
	for _, s := range steps {
		seen.steps[s.Seq] = s
	}
	d.Pauses = domains[domain.Pause](pauses)
	for _, p := range pauses {
		seen.pauses[p.ID] = p
	}
	return seen
}

// loadHistory reads d's hand-offs, history and notifications.
func (q queries) loadHistory(ctx context.Context, d *domain.Dossier) error {
	if q.txConn() != nil {
		return q.historyPiped(ctx, d)
	}
	var hand []handoffRow
	if err := q.ctx(ctx).Where("dossier_id = ?", d.ID).Order("id").Find(&hand).Error; err != nil {
		return translate(err, "handoffs")
	}
	d.Handoffs = domains[domain.Handoff](hand)
	var hist []historyRow
	if err := q.ctx(ctx).Where("dossier_id = ?", d.ID).Order("id").Find(&hist).Error; err != nil {
		return translate(err, "history")
	}
	d.History = domains[domain.HistoryEntry](hist)
	ns, err := q.NotificationsOf(ctx, d.Code)
	if err != nil {
		return err
	}
	d.Notifications = ns
	return nil
}

// asLoaded is a dossier's step and pause rows as DossierForUpdate read them
// (then as UpdateDossier wrote them), so that UpdateDossier writes only the
// rows a command changed: an unchanged row rewritten is a dead tuple, index
// entries and WAL for nothing (docs/benchmarks.md, "Fewer statements per
// transition").
type asLoaded struct {
	steps  map[int]stepRow
	pauses map[int64]pauseRow
	// read ahead with the row on PostgreSQL (dossierForUpdatePiped), until
	// the dossier is written: its overdue spans in force and its roll-up
	// state row (nil: read them when needed).
	openSpans *[]overdueSpanRow
	rollup    *[]rollupOpenRow
	// hist is its hand-offs, history and notifications read ahead, with the
	// rows UpdateDossier added since (nil: read them when needed).
	hist *historyRead
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// same reports whether two rows of a step hold the same values.
func (r stepRow) same(o stepRow) bool {
	return r.DossierID == o.DossierID && r.Seq == o.Seq && r.Name == o.Name && r.AgencyCode == o.AgencyCode &&
		r.AllottedMinutes == o.AllottedMinutes && r.UsedMinutes == o.UsedMinutes && sameTime(r.RunningSince, o.RunningSince) &&
		sameTime(r.StartedAt, o.StartedAt) && sameTime(r.DueAt, o.DueAt) && sameTime(r.FinishedAt, o.FinishedAt) &&
		r.Verdict == o.Verdict && sameTime(r.OverdueFrom, o.OverdueFrom)
}

func (h handoffRow) domain() domain.Handoff {
	return domain.Handoff{StepSeq: h.StepSeq, FromUnit: h.FromUnit, ToUnit: h.ToUnit, At: h.At, Verdict: domain.Verdict(h.Verdict),
		Actor: h.Actor, ActorName: h.ActorName, OverrunMinutes: h.OverrunMinutes}
}

func (h historyRow) domain() domain.HistoryEntry {
	return domain.HistoryEntry{At: h.At, Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle, Action: domain.HistoryAction(h.Action), From: domain.Status(h.FromStatus),
		To: domain.Status(h.ToStatus), Note: h.Note, DueAt: h.DueAt, PromisedAt: h.PromisedAt, StepDueAt: h.StepDueAt}
}

// DossierForUpdate loads a dossier for a command: the row locked (FOR UPDATE
// on PostgreSQL, so a racing command waits instead of working in vain), its
// steps and pauses; the history is only appended to. (One statement with the
// children as JSON arrays was tried and dropped: docs/benchmarks.md, "Hot
// paths".)
func (q queries) DossierForUpdate(ctx context.Context, code string) (*domain.Dossier, error) {
	if q.txConn() != nil {
		return q.dossierForUpdatePiped(ctx, code)
	}
	db := q.ctx(ctx).Where("code = ?", code)
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var r dossierRow
	if err := db.Take(&r).Error; err != nil {
		return nil, translate(err, "dossier "+code)
	}
	d := r.domain()
	seen, err := q.loadChildren(ctx, d, false)
	if err != nil {
		return nil, err
	}
	if q.loaded != nil {
		q.loaded[d.ID] = seen
	}
	return d, nil
}

// DossierWritten is d as UpdateDossier stored it (the same conversions as a
// read), with its hand-offs, history and notifications read in the
// transaction: a command's answer is the state it committed, without reading
// the dossier again after the commit.
func (q queries) DossierWritten(ctx context.Context, d *domain.Dossier) (*domain.Dossier, error) {
	out := toDossierRow(d).domain()
	for _, s := range d.Steps {
		out.Steps = append(out.Steps, toStepRow(d, s).domain())
	}
	for _, p := range d.Pauses {
		out.Pauses = append(out.Pauses, toPauseRow(d.ID, p).domain())
	}
	if seen := q.loaded[d.ID]; seen != nil && seen.hist != nil {
		seen.hist.give(out) // read ahead with the locked row, and written since
		return out, nil
	}
	return out, q.loadHistory(ctx, out)
}

// LookupHead reads the columns every look-up checks, by the unique code
// index; it scans the row directly, the hot path of the public page.
func (q queries) LookupHead(ctx context.Context, code string) (service.LookupHead, error) {
	var h service.LookupHead
	err := q.ctx(ctx).Raw("SELECT id, version, pin_hash FROM dossiers WHERE code = ?", code).Row().
		Scan(&h.ID, &h.Version, &h.PINHash)
	if errors.Is(err, sql.ErrNoRows) {
		return service.LookupHead{}, domain.NotFoundf("no dossier")
	}
	if err != nil {
		return service.LookupHead{}, translate(err, "dossier")
	}
	return h, nil
}

// DossierForLookup loads what the citizen's view needs: no history.
func (q queries) DossierForLookup(ctx context.Context, code string) (*domain.Dossier, error) {
	var r dossierRow
	if err := q.ctx(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return nil, translate(err, "dossier")
	}
	d := r.domain()
	if _, err := q.loadChildren(ctx, d, false); err != nil {
		return nil, err
	}
	return d, nil
}

// NextSequence takes the next number of the agency's daily sequence in the
// caller's transaction. The upsert locks the counter row (PostgreSQL) or the
// database (SQLite's immediate transactions) until the commit, so intakes of
// one unit and day get their numbers in commit order, without gaps, on every
// instance; a rolled-back intake gives its number back with the row.
//
// On PostgreSQL it also draws the id of the dossier row the transaction's
// next InsertDossier writes, and takes the catalogue's shared lock and reads
// its version first (CatalogueVersionShared, which an intake asks for next),
// all in one round trip (nextSequencePiped).
func (q queries) NextSequence(ctx context.Context, agency, day string) (int64, error) {
	var last int64
	if q.txConn() != nil {
		return q.nextSequencePiped(ctx, agency, day)
	}
	err := q.ctx(ctx).Raw(`INSERT INTO dossier_sequences (agency_code, day, last_seq) VALUES (?, ?, 1)
		ON CONFLICT (agency_code, day) DO UPDATE SET last_seq = dossier_sequences.last_seq + 1
		RETURNING last_seq`, agency, day).Scan(&last).Error
	if err != nil {
		return 0, translate(err, "dossier sequence")
	}
	return last, nil
}

type idempotencyRow struct {
	Actor       string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	DossierCode string
	LookupPIN   string `gorm:"column:lookup_pin"`
	CreatedAt   time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// IdempotencyKey returns what was stored under a key.
func (q queries) IdempotencyKey(ctx context.Context, actor, key string) (hash, code, pin string, found bool, err error) {
	var rows []idempotencyRow
	if err := q.ctx(ctx).Where("actor = ? AND key = ?", actor, key).Limit(1).Find(&rows).Error; err != nil {
		return "", "", "", false, translate(err, "idempotency key")
	}
	if len(rows) == 0 {
		return "", "", "", false, nil
	}
	return rows[0].RequestHash, rows[0].DossierCode, rows[0].LookupPIN, true, nil
}

// SaveIdempotencyKey stores a key; a second request with it is a duplicate.
func (q queries) SaveIdempotencyKey(ctx context.Context, actor, key, hash, code, pin string, at time.Time) error {
	r := idempotencyRow{Actor: actor, Key: key, RequestHash: hash, DossierCode: code, LookupPIN: pin, CreatedAt: ts(at)}
	return translate(q.ctx(ctx).Create(&r).Error, "idempotency key")
}

// InsertDossier writes a new dossier with its steps and the change.
func (q queries) InsertDossier(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	if q.dialect == Postgres {
		return q.insertDossierPG(ctx, d, ch)
	}
	r := toDossierRow(d)
	r.ID = 0
	if err := q.ctx(ctx).Create(&r).Error; err != nil {
		return translate(err, "dossier "+d.Code)
	}
	d.ID = r.ID
	if len(d.Steps) > 0 {
		steps := make([]stepRow, 0, len(d.Steps))
		for _, s := range d.Steps {
			steps = append(steps, toStepRow(d, s))
		}
		if err := q.ctx(ctx).Create(&steps).Error; err != nil {
			return translate(err, "steps")
		}
	}
	if err := q.writeSpans(ctx, d, ch, true); err != nil {
		return err
	}
	return q.writeChange(ctx, d, ch)
}

// UpdateDossier writes d over the version it was read at: the row, and the
// steps and pauses that differ from those DossierForUpdate read.
func (q queries) UpdateDossier(ctx context.Context, d *domain.Dossier, readVersion int, ch domain.Change) error {
	if q.dialect == Postgres {
		return q.updateDossierPG(ctx, d, readVersion, ch)
	}
	r := toDossierRow(d)
	// UpdateColumns: updated_at is d's, as on insert, not gorm's clock, so
	// the row is what the answer (DossierWritten) shows.
	res := q.ctx(ctx).Model(&dossierRow{}).Where("id = ? AND version = ?", d.ID, readVersion).
		Select("*").Omit("id", "code", "created_at", "pin_failures", "pin_locked_until").UpdateColumns(&r)
	if res.Error != nil {
		return translate(res.Error, "dossier "+d.Code)
	}
	if res.RowsAffected == 0 {
		return domain.Conflictf(domain.CodeVersionConflict, "the dossier changed since version %d was read", readVersion)
	}
	if err := q.writePauses(ctx, d); err != nil {
		return err
	}
	if err := q.writeSteps(ctx, d); err != nil {
		return err
	}
	if err := q.writeSpans(ctx, d, ch, false); err != nil {
		return err
	}
	return q.writeChange(ctx, d, ch)
}

// changedSteps are the rows of d's steps that differ from those read (all
// of them when the transaction did not read them).
func (q queries) changedSteps(d *domain.Dossier) []stepRow {
	seen := q.loaded[d.ID]
	rows := make([]stepRow, 0, len(d.Steps))
	for _, s := range d.Steps {
		sr := toStepRow(d, s)
		if seen != nil {
			if old, ok := seen.steps[s.Seq]; ok && old.same(sr) {
				continue
			}
		}
		rows = append(rows, sr)
	}
	return rows
}

// markSteps records the step rows written as the ones read.
func (q queries) markSteps(d *domain.Dossier, rows []stepRow) {
	if seen := q.loaded[d.ID]; seen != nil {
		for _, sr := range rows {
			seen.steps[sr.Seq] = sr
		}
	}
}

// writeSteps updates the steps that changed since they were read (SQLite).
func (q queries) writeSteps(ctx context.Context, d *domain.Dossier) error {
	rows := q.changedSteps(d)
	for i := range rows {
		if err := q.ctx(ctx).Model(&stepRow{}).Where("dossier_id = ? AND seq = ?", d.ID, rows[i].Seq).Select("*").Updates(&rows[i]).Error; err != nil {
			return translate(err, "step")
		}
	}
	q.markSteps(d, rows)
	return nil
}

// addSteps adds the step rows' UPDATE ... FROM (VALUES ...) to a batch.
func addSteps(b *pgBatch, rows []stepRow) {
	args := make([]any, 0, len(rows)*12)
	for _, r := range rows {
		args = append(args, r.DossierID, r.Seq, r.Name, r.AgencyCode, r.AllottedMinutes, r.UsedMinutes,
			r.RunningSince, r.StartedAt, r.DueAt, r.FinishedAt, r.Verdict, r.OverdueFrom)
	}
	b.add(`UPDATE dossier_steps AS s SET name = v.name, agency_code = v.agency_code, allotted_minutes = v.allotted_minutes,
		used_minutes = v.used_minutes, running_since = v.running_since, started_at = v.started_at, due_at = v.due_at,
		finished_at = v.finished_at, verdict = v.verdict, overdue_from = v.overdue_from FROM (VALUES `+
		marks(len(rows), `(CAST(? AS bigint), CAST(? AS integer), CAST(? AS text), CAST(? AS text), CAST(? AS bigint), CAST(? AS bigint),
			CAST(? AS timestamptz), CAST(? AS timestamptz), CAST(? AS timestamptz), CAST(? AS timestamptz), CAST(? AS text), CAST(? AS timestamptz))`)+
		`) AS v (dossier_id, seq, name, agency_code, allotted_minutes, used_minutes, running_since, started_at, due_at,
		finished_at, verdict, overdue_from) WHERE s.dossier_id = v.dossier_id AND s.seq = v.seq`, args...)
}

// pgBatch gathers data-modifying statements that PostgreSQL runs as one,
// WITH w0 AS (first), ... last: one round trip for the writes of a command
// once its reads are done (docs/benchmarks.md, "Fewer statements per
// transition"). No two of them may touch the same row.
type pgBatch struct {
	stmts []string
	args  []any
	// selects are the expressions of a closing SELECT (pg_notify, a lock):
	// a SELECT inside a WITH that nothing reads never runs.
	selects    []string
	selectArgs []any
}

// add adds a statement and returns its name in the WITH, for a later
// statement or the closing SELECT to read what it returns.
func (b *pgBatch) add(stmt string, args ...any) string {
	b.stmts = append(b.stmts, stmt)
	b.args = append(b.args, args...)
	return "w" + strconv.Itoa(len(b.stmts)-1)
}

// addSelect adds an expression to the closing SELECT, which runs once the
// statements are added.
func (b *pgBatch) addSelect(expr string, args ...any) {
	b.selects = append(b.selects, expr)
	b.selectArgs = append(b.selectArgs, args...)
}

// runBatch runs the batch; dest, when given, takes the closing SELECT's
// values in order.
func (q queries) runBatch(ctx context.Context, b *pgBatch, what string, dest ...any) error {
	stmts, args := b.stmts, b.args
	if len(b.selects) > 0 {
		stmts = append(slices.Clip(stmts), "SELECT "+strings.Join(b.selects, ", "))
		args = append(slices.Clip(args), b.selectArgs...)
	}
	if len(stmts) == 0 {
		return nil
	}
	var sb strings.Builder
	last := len(stmts) - 1
	for i, stmt := range stmts[:last] {
		if i == 0 {
			sb.WriteString("WITH ")
		} else {
			sb.WriteString(", ")
		}
		sb.WriteString("w" + strconv.Itoa(i) + " AS (" + stmt + ")")
	}
	if last > 0 {
		sb.WriteString(" ")
	}
	sb.WriteString(stmts[last])
	if len(dest) > 0 {
		return translate(q.ctx(ctx).Raw(sb.String(), args...).Row().Scan(dest...), what)
	}
	return translate(q.ctx(ctx).Exec(sb.String(), args...).Error, what)
}

// marks repeats one group of placeholders n times, comma-separated.
func marks(n int, one string) string {
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// writePauses adds the new pauses and writes the end and method of those
// that changed since they were read.
func (q queries) writePauses(ctx context.Context, d *domain.Dossier) error {
	seen := q.loaded[d.ID]
	for i := range d.Pauses {
		p := &d.Pauses[i]
		pr := toPauseRow(d.ID, *p)
		if p.ID == 0 {
			if err := q.ctx(ctx).Create(&pr).Error; err != nil {
				return translate(err, "pause")
			}
			p.ID = pr.ID
		} else {
			if seen != nil {
				if old, ok := seen.pauses[p.ID]; ok && sameTime(old.EndedAt, pr.EndedAt) && old.Method == pr.Method {
					continue
				}
			}
			if err := q.ctx(ctx).Model(&pauseRow{}).Where("id = ?", p.ID).Updates(map[string]any{"ended_at": pr.EndedAt, "method": pr.Method}).Error; err != nil {
				return translate(err, "pause")
			}
		}
		if seen != nil {
			seen.pauses[p.ID] = pr
		}
	}
	return nil
}

// writeChange appends the history and control-slip rows and the outbox events.
func (q queries) writeChange(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	if rows := historyRows(d, ch); len(rows) > 0 {
		if err := q.ctx(ctx).Create(&rows).Error; err != nil {
			return translate(err, "history")
		}
	}
	if rows := handoffRows(d, ch); len(rows) > 0 {
		if err := q.ctx(ctx).Create(&rows).Error; err != nil {
			return translate(err, "handoffs")
		}
	}
	if err := q.applyRollups(ctx, d, ch); err != nil {
		return err
	}
	if err := q.applyLateness(ctx, d, ch); err != nil {
		return err
	}
	return q.writeEvents(ctx, ch.Events)
}

func historyRows(d *domain.Dossier, ch domain.Change) []historyRow {
	rows := make([]historyRow, 0, len(ch.History))
	for _, h := range ch.History {
		rows = append(rows, historyRow{DossierID: d.ID, At: ts(h.At), Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle, Action: string(h.Action), FromStatus: int(h.From),
			ToStatus: int(h.To), Note: h.Note, DueAt: tsp(h.DueAt), PromisedAt: tsp(h.PromisedAt), StepDueAt: tsp(h.StepDueAt)})
	}
	return rows
}

func handoffRows(d *domain.Dossier, ch domain.Change) []handoffRow {
	rows := make([]handoffRow, 0, len(ch.Handoffs))
	for _, h := range ch.Handoffs {
		rows = append(rows, handoffRow{DossierID: d.ID, StepSeq: h.StepSeq, FromUnit: h.FromUnit, ToUnit: h.ToUnit, At: ts(h.At), Verdict: string(h.Verdict),
			Actor: h.Actor, ActorName: h.ActorName, OverrunMinutes: h.OverrunMinutes})
	}
	return rows
}

// addHistory adds the history rows' INSERT to a batch.
func addHistory(b *pgBatch, rows []historyRow) {
	args := make([]any, 0, len(rows)*12)
	for _, r := range rows {
		args = append(args, r.DossierID, r.At, r.Actor, r.ActorName, r.ActorTitle, r.Action, r.FromStatus, r.ToStatus, r.Note,
			r.DueAt, r.PromisedAt, r.StepDueAt)
	}
	b.add(`INSERT INTO dossier_history (dossier_id, at, actor, actor_name, actor_title, action, from_status, to_status, note,
		due_at, promised_at, step_due_at) VALUES `+marks(len(rows), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), args...)
}

// addHandoffs adds the hand-off rows' INSERT to a batch.
func addHandoffs(b *pgBatch, rows []handoffRow) {
	args := make([]any, 0, len(rows)*9)
	for _, r := range rows {
		args = append(args, r.DossierID, r.StepSeq, r.FromUnit, r.ToUnit, r.At, r.Verdict, r.Actor, r.ActorName, r.OverrunMinutes)
	}
	b.add(`INSERT INTO dossier_handoffs (dossier_id, step_seq, from_unit, to_unit, at, verdict, actor, actor_name, overrun_minutes)
		VALUES `+marks(len(rows), "(?, ?, ?, ?, ?, ?, ?, ?, ?)"), args...)
}

func outboxRows(events []domain.Event) ([]outboxRow, error) {
	rows := make([]outboxRow, 0, len(events))
	for _, e := range events {
		data, err := e.Data()
		if err != nil {
			return nil, err
		}
		id, err := e.ID()
		if err != nil {
			return nil, err
		}
		rows = append(rows, outboxRow{ID: id, Subject: e.Subject(), Type: string(e.Type), DossierCode: e.DossierCode,
			Data: string(data), OccurredAt: ts(e.OccurredAt), CreatedAt: ts(time.Now())})
	}
	return rows, nil
}

func (q queries) writeEvents(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows, err := outboxRows(events)
	if err != nil {
		return err
	}
	if q.dialect == Postgres {
		var b pgBatch
		addOutbox(&b, rows)
		return q.runBatch(ctx, &b, "outbox")
	}
	return translate(q.ctx(ctx).Create(&rows).Error, "outbox")
}

// addOutbox adds the events and the relays' signal (notifyOutbox) to a
// batch, last: one round trip fewer per command (docs/benchmarks.md, "Hot
// paths"); the signal is delivered at commit either way.
func addOutbox(b *pgBatch, rows []outboxRow) {
	if len(rows) == 0 {
		return
	}
	args := make([]any, 0, len(rows)*7)
	for _, r := range rows {
		args = append(args, r.ID, r.Subject, r.Type, r.DossierCode, r.Data, r.OccurredAt, r.CreatedAt)
	}
	b.add("INSERT INTO outbox (id, subject, type, dossier_code, data, occurred_at, created_at) VALUES "+
		marks(len(rows), "(?, ?, ?, ?, ?, ?, ?)"), args...)
	b.addSelect("pg_notify(?, '')", OutboxChannel)
}

// ListDossiers returns a page of dossiers, newest received first, without
// their steps, pauses and history (a list shows the dossier row only).
func (q queries) ListDossiers(ctx context.Context, f service.DossierFilter) ([]*domain.Dossier, error) {
	db := q.ctx(ctx).Model(&dossierRow{})
	if f.Status != 0 {
		db = db.Where("status = ?", int(f.Status))
	}
	if f.AgencyCodes != nil {
		// The agencies involved in a dossier (domain.Dossier.InvolvedAgencies).
		db = db.Where(`(agency_code IN ? OR lead_agency_code IN ? OR holder_code IN ? OR EXISTS (
			SELECT 1 FROM dossier_steps s WHERE s.dossier_id = dossiers.id AND s.agency_code IN ?))`,
			f.AgencyCodes, f.AgencyCodes, f.AgencyCodes, f.AgencyCodes)
	}
	if f.ProcedureCode != "" {
		db = db.Where("procedure_code = ?", f.ProcedureCode)
	}
	if f.OverdueAt != nil {
		db = db.Where(overdueWhere("status", "overdue_from"), ts(*f.OverdueAt))
	}
	if f.ReceivedFrom != nil {
		db = db.Where("received_at >= ?", ts(*f.ReceivedFrom))
	}
	if f.ReceivedTo != nil {
		db = db.Where("received_at < ?", ts(*f.ReceivedTo))
	}
	if f.Late != nil {
		db = lateWhere(db, f.Late)
	}
	if f.After != nil {
		at := ts(f.After.ReceivedAt)
		db = db.Where("(received_at < ? OR (received_at = ? AND id < ?))", at, at, f.After.ID)
	}
	var rows []dossierRow
	if err := db.Order("received_at DESC, id DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "dossiers")
	}
	out := make([]*domain.Dossier, 0, len(rows))
	paused := map[int64]*domain.Dossier{}
	for _, r := range rows {
		d := r.domain()
		out = append(out, d)
		if d.Status.Open() && d.Status.Paused() {
			paused[d.ID] = d
		}
	}
	// The open pause of a paused dossier decides whether it is overdue
	// (domain.Dossier.OverdueFrom): one query for the page.
	if len(paused) > 0 {
		ids := make([]int64, 0, len(paused))
		for id := range paused {
			ids = append(ids, id)
		}
		var pauses []pauseRow
		if err := q.ctx(ctx).Where("dossier_id IN ? AND ended_at IS NULL", ids).Order("id").Find(&pauses).Error; err != nil {
			return nil, translate(err, "pauses")
		}
		for _, p := range pauses {
			paused[p.DossierID].Pauses = append(paused[p.DossierID].Pauses, p.domain())
		}
	}
	return out, nil
}

// AwaitingSupplementSince finds dossiers whose open supplement pause began
// before the instant.
func (q queries) AwaitingSupplementSince(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var codes []string
	err := q.ctx(ctx).Raw(`SELECT d.code FROM dossiers d JOIN dossier_pauses p ON p.dossier_id = d.id
		WHERE d.status = 5 AND p.kind = 'supplement' AND p.ended_at IS NULL AND p.started_at < ?
		ORDER BY p.started_at LIMIT ?`, ts(before), limit).Scan(&codes).Error
	return codes, translate(err, "dossiers awaiting supplement")
}
