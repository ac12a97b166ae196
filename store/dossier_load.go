package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
)

// Loading a dossier with its children in one round trip on PostgreSQL: the
// row and, as JSON arrays aggregated in the same statement, its steps and
// pauses (and for the whole dossier its hand-offs, history and
// notifications), instead of one query per table (docs/benchmarks.md, "Hot
// paths"). SQLite, in the process, keeps one query per table.

// dossierLoadRow is the dossier row with its children as JSON arrays.
type dossierLoadRow struct {
	Row dossierRow `gorm:"embedded"`
	// Fresh is false when the locked row is not the version the statement's
	// snapshot saw (another command committed while this one waited for
	// the lock): the children are then read again.
	Fresh        bool
	StepsJSON    []byte `gorm:"column:steps_json"`
	PausesJSON   []byte `gorm:"column:pauses_json"`
	HandoffsJSON []byte `gorm:"column:handoffs_json"`
	HistoryJSON  []byte `gorm:"column:history_json"`
	NoticesJSON  []byte `gorm:"column:notices_json"`
}

// The children's JSON arrays, by the indexes the per-table queries use.
const (
	pgStepsJSON = `(SELECT COALESCE(json_agg(s ORDER BY s.seq), '[]') FROM dossier_steps s WHERE s.dossier_id = d.id) AS steps_json,
	(SELECT COALESCE(json_agg(p ORDER BY p.id), '[]') FROM dossier_pauses p WHERE p.dossier_id = d.id) AS pauses_json`
	pgHistoryJSON = `, (SELECT COALESCE(json_agg(h ORDER BY h.id), '[]') FROM dossier_handoffs h WHERE h.dossier_id = d.id) AS handoffs_json,
	(SELECT COALESCE(json_agg(h ORDER BY h.id), '[]') FROM dossier_history h WHERE h.dossier_id = d.id) AS history_json,
	(SELECT COALESCE(json_agg(n ORDER BY n.id), '[]') FROM notifications n WHERE n.dossier_code = d.code) AS notices_json`
)

// loadDossierPG reads a dossier and its children in one statement. With
// lock, the row is locked FOR UPDATE first; since the statement's children
// are read in the snapshot taken before a wait for that lock, a row that
// changed meanwhile (its xmin differs from the one the snapshot sees: every
// change of the children rewrites the row, UpdateDossier) is read again by a
// second statement, whose snapshot follows the lock.
func (q queries) loadDossierPG(ctx context.Context, code string, lock, history bool) (*domain.Dossier, error) {
	children := pgStepsJSON
	if history {
		children += pgHistoryJSON
	}
	var stmt string
	if lock {
		stmt = `WITH d AS MATERIALIZED (SELECT *, xmin AS row_xmin FROM dossiers WHERE code = ? FOR UPDATE)
		SELECT d.*, d.row_xmin = (SELECT x.xmin FROM dossiers x WHERE x.id = d.id) AS fresh, ` + children + ` FROM d`
	} else {
		stmt = `SELECT d.*, true AS fresh, ` + children + ` FROM dossiers d WHERE d.code = ?`
	}
	for range 2 {
		var rows []dossierLoadRow
		if err := q.ctx(ctx).Raw(stmt, code).Scan(&rows).Error; err != nil {
			return nil, translate(err, "dossier "+code)
		}
		if len(rows) == 0 {
			return nil, translate(gorm.ErrRecordNotFound, "dossier "+code)
		}
		if rows[0].Fresh {
			return rows[0].dossier(history)
		}
	}
	// Read twice under the lock and still not the locked version: cannot
	// happen (the second statement's snapshot follows the lock), but the
	// per-table queries are always right.
	var r dossierRow
	if err := q.ctx(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		return nil, translate(err, "dossier "+code)
	}
	d := r.domain()
	return d, q.loadChildren(ctx, d, history)
}

// dossier decodes the row and its children.
func (r *dossierLoadRow) dossier(history bool) (*domain.Dossier, error) {
	d := r.Row.domain()
	var steps []stepRow
	var pauses []pauseRow
	if err := decodeRows(r.StepsJSON, &steps, "steps"); err != nil {
		return nil, err
	}
	if err := decodeRows(r.PausesJSON, &pauses, "pauses"); err != nil {
		return nil, err
	}
	for _, s := range steps {
		s.localize()
		d.Steps = append(d.Steps, s.domain())
	}
	for _, p := range pauses {
		p.StartedAt = local(p.StartedAt)
		p.EndedAt = localp(p.EndedAt)
		d.Pauses = append(d.Pauses, p.domain())
	}
	if !history {
		return d, nil
	}
	var hand []handoffRow
	var hist []historyRow
	var notes []notificationRow
	if err := decodeRows(r.HandoffsJSON, &hand, "handoffs"); err != nil {
		return nil, err
	}
	if err := decodeRows(r.HistoryJSON, &hist, "history"); err != nil {
		return nil, err
	}
	if err := decodeRows(r.NoticesJSON, &notes, "notifications"); err != nil {
		return nil, err
	}
	for _, h := range hand {
		d.Handoffs = append(d.Handoffs, h.domain())
	}
	for _, h := range hist {
		h.At, h.DueAt, h.PromisedAt, h.StepDueAt = local(h.At), localp(h.DueAt), localp(h.PromisedAt), localp(h.StepDueAt)
		d.History = append(d.History, h.domain())
	}
	d.Notifications = make([]domain.Notification, 0, len(notes))
	for _, n := range notes {
		n.OccurredAt, n.CreatedAt, n.NextAt, n.UpdatedAt, n.SentAt = local(n.OccurredAt), local(n.CreatedAt), local(n.NextAt), local(n.UpdatedAt), localp(n.SentAt)
		d.Notifications = append(d.Notifications, n.domain())
	}
	return d, nil
}

func decodeRows(b []byte, v any, what string) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return translate(err, what)
	}
	return nil
}

// local gives a time decoded from PostgreSQL's JSON the location the driver
// gives the same column read directly (time.Local), so a dossier reads the
// same either way.
func local(t time.Time) time.Time { return t.Local() }

func localp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Local()
	return &v
}

func (r *stepRow) localize() {
	r.RunningSince, r.StartedAt, r.DueAt, r.FinishedAt, r.OverdueFrom = localp(r.RunningSince), localp(r.StartedAt), localp(r.DueAt),
		localp(r.FinishedAt), localp(r.OverdueFrom)
}
