package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// catalogueKey is the cache_versions row of everything cached from the
// catalogue and the calendar.
const catalogueKey = "catalogue"

// CatalogueVersion reads the catalogue's version counter: one row by its key.
func (q queries) CatalogueVersion(ctx context.Context) (int64, error) {
	var v int64
	err := q.ctx(ctx).Raw("SELECT version FROM cache_versions WHERE name = ?", catalogueKey).Scan(&v).Error
	return v, translate(err, "cache version")
}

// CatalogueVersionShared reads the counter in a transaction and, on
// PostgreSQL, holds a shared transaction-level advisory lock until the
// transaction ends: a change of the catalogue (which takes the lock
// exclusively) then waits for the transaction, or the transaction waits for
// the change and reads its new version. So a dossier is never written with a
// calendar older than a change committed before it, nor missed by the
// recompute that change starts. An advisory lock, not FOR SHARE on the row:
// the lock manager queues requests in order, so a steady stream of intakes
// cannot starve a change waiting for its exclusive lock (row share locks
// are granted past a waiting writer).
func (q queries) CatalogueVersionShared(ctx context.Context) (int64, error) {
	if q.tx != nil && q.tx.catalogue > 0 {
		return q.tx.catalogue - 1, nil // read under the lock in a pipeline (queueCatalogueShared)
	}
	if q.dialect == Postgres {
		if err := q.ctx(ctx).Exec("SELECT pg_advisory_xact_lock_shared(?)", lockCatalogue).Error; err != nil {
			return 0, translate(err, "cache version lock")
		}
	}
	var v int64
	if err := q.ctx(ctx).Raw("SELECT version FROM cache_versions WHERE name = ?", catalogueKey).Scan(&v).Error; err != nil {
		return 0, translate(err, "cache version")
	}
	if q.tx != nil {
		q.tx.catalogue = v + 1
	}
	return v, nil
}

// lockCatalogue is the advisory-lock key of catalogue changes ("motcua" +
// 0x20), apart from the leader keys of store/leader.go.
const lockCatalogue int64 = 0x6d6f74637561_20

// bumpCatalogue moves the counter on, in the transaction of the change,
// after taking the catalogue lock exclusively (see CatalogueVersionShared).
func (q queries) bumpCatalogue(ctx context.Context) error {
	if q.dialect == Postgres {
		if err := q.ctx(ctx).Exec("SELECT pg_advisory_xact_lock(?)", lockCatalogue).Error; err != nil {
			return translate(err, "cache version lock")
		}
	}
	return translate(q.ctx(ctx).Exec("UPDATE cache_versions SET version = version + 1 WHERE name = ?", catalogueKey).Error, "cache version")
}

type recomputeRow struct {
	ID         int64 `gorm:"primaryKey"`
	Day        string
	AgencyCode string
	Action     string
	Note       string
	Actor      string
	AfterID    int64
	Seen       int64
	Moved      int64
	Batches    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

func (recomputeRow) TableName() string { return "calendar_recomputes" }

func (r recomputeRow) service() service.Recompute {
	d, _ := domain.ParseDate(r.Day)
	return service.Recompute{ID: r.ID, Date: d, AgencyCode: r.AgencyCode, Action: r.Action, Note: r.Note, Actor: r.Actor,
		AfterID: r.AfterID, Seen: r.Seen, Moved: r.Moved, Batches: r.Batches, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		FinishedAt: r.FinishedAt}
}

func toRecomputeRow(j service.Recompute) recomputeRow {
	return recomputeRow{ID: j.ID, Day: j.Date.String(), AgencyCode: j.AgencyCode, Action: j.Action, Note: j.Note, Actor: j.Actor,
		AfterID: j.AfterID, Seen: j.Seen, Moved: j.Moved, Batches: j.Batches, CreatedAt: ts(j.CreatedAt), UpdatedAt: ts(j.UpdatedAt),
		FinishedAt: tsp(j.FinishedAt)}
}

// CreateRecompute records a new job and sets its id.
func (q queries) CreateRecompute(ctx context.Context, j *service.Recompute) error {
	r := toRecomputeRow(*j)
	r.ID = 0
	if err := q.ctx(ctx).Create(&r).Error; err != nil {
		return translate(err, "recompute job")
	}
	j.ID = r.ID
	return nil
}

// LockRecompute locks a pending job (id 0: the oldest) until the transaction
// ends, so two runners work its batches one after the other; found is false
// when no such job is pending.
func (q queries) LockRecompute(ctx context.Context, id int64) (service.Recompute, bool, error) {
	db := q.ctx(ctx).Where("finished_at IS NULL")
	if id != 0 {
		db = db.Where("id = ?", id)
	}
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var rows []recomputeRow
	if err := db.Order("id").Limit(1).Find(&rows).Error; err != nil {
		return service.Recompute{}, false, translate(err, "recompute job")
	}
	if len(rows) == 0 {
		return service.Recompute{}, false, nil
	}
	return rows[0].service(), true, nil
}

// SaveRecompute writes a job's progress.
func (q queries) SaveRecompute(ctx context.Context, j service.Recompute) error {
	r := toRecomputeRow(j)
	err := q.ctx(ctx).Model(&recomputeRow{}).Where("id = ?", j.ID).
		Select("after_id", "seen", "moved", "batches", "updated_at", "finished_at").Updates(&r).Error
	return translate(err, "recompute job")
}

// PendingRecomputes lists the jobs not finished, oldest first (through a
// partial index: the list is empty or short).
func (q queries) PendingRecomputes(ctx context.Context) ([]service.Recompute, error) {
	var rows []recomputeRow
	if err := q.ctx(ctx).Where("finished_at IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "recompute jobs")
	}
	out := make([]service.Recompute, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.service())
	}
	return out, nil
}

// Recomputes lists the latest jobs, newest first.
func (q queries) Recomputes(ctx context.Context, limit int) ([]service.Recompute, error) {
	var rows []recomputeRow
	if err := q.ctx(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "recompute jobs")
	}
	out := make([]service.Recompute, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.service())
	}
	return out, nil
}

// Recompute returns one job.
func (q queries) Recompute(ctx context.Context, id int64) (service.Recompute, error) {
	var r recomputeRow
	if err := q.ctx(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return service.Recompute{}, translate(err, "recompute job")
	}
	return r.service(), nil
}

// RunningDossiersAfter returns, in id order after afterID, up to limit open
// dossiers with a running clock whose deadline (or current step's) is at or
// after from, of the receiving agency ("" for all), locked for update on
// PostgreSQL, with their steps and pauses loaded in two queries.
func (q queries) RunningDossiersAfter(ctx context.Context, from time.Time, agency string, afterID int64, limit int) ([]*domain.Dossier, error) {
	db := q.ctx(ctx).Where(`id > ? AND status IN `+statusList(domain.RunningStatuses())+` AND running_since IS NOT NULL AND (due_at >= ? OR EXISTS (
		SELECT 1 FROM dossier_steps s WHERE s.dossier_id = dossiers.id AND s.running_since IS NOT NULL AND s.due_at >= ?))`,
		afterID, ts(from), ts(from))
	if agency != "" {
		db = db.Where("agency_code = ?", agency)
	}
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var rows []dossierRow
	if err := db.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "running dossiers")
	}
	return q.withStepsAndPauses(ctx, rows)
}

// withStepsAndPauses maps rows to dossiers and loads their steps and pauses
// in one query each.
func (q queries) withStepsAndPauses(ctx context.Context, rows []dossierRow) ([]*domain.Dossier, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]*domain.Dossier, 0, len(rows))
	byID := make(map[int64]*domain.Dossier, len(rows))
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		d := r.domain()
		out = append(out, d)
		byID[d.ID] = d
		ids = append(ids, d.ID)
	}
	var steps []stepRow
	if err := q.ctx(ctx).Where("dossier_id IN ?", ids).Order("dossier_id, seq").Find(&steps).Error; err != nil {
		return nil, translate(err, "steps")
	}
	for _, s := range steps {
		d := byID[s.DossierID]
		d.Steps = append(d.Steps, s.domain())
	}
	var pauses []pauseRow
	if err := q.ctx(ctx).Where("dossier_id IN ?", ids).Order("dossier_id, id").Find(&pauses).Error; err != nil {
		return nil, translate(err, "pauses")
	}
	for _, p := range pauses {
		d := byID[p.DossierID]
		d.Pauses = append(d.Pauses, p.domain())
	}
	return out, nil
}
