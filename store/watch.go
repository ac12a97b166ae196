package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
)

// DueForCheck locks the dossiers whose next check has come, skipping rows
// another watcher holds.
func (q queries) DueForCheck(ctx context.Context, now time.Time, limit int) ([]*domain.Dossier, error) {
	db := q.ctx(ctx).Where("next_deadline_at IS NOT NULL AND next_deadline_at <= ?", ts(now)).Order("next_deadline_at").Limit(limit)
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	var rows []dossierRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "due dossiers")
	}
	out := make([]*domain.Dossier, 0, len(rows))
	for _, r := range rows {
		d := r.domain()
		if err := q.loadChildren(ctx, d, false); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

type claimRow struct {
	DossierID  int64  `gorm:"primaryKey"`
	Kind       string `gorm:"primaryKey"`
	StepSeq    int    `gorm:"primaryKey"`
	DeadlineAt time.Time
	CreatedAt  time.Time
}

func (claimRow) TableName() string { return "deadline_claims" }

// Claim inserts the claim row; a second claim of the same deadline inserts nothing.
func (q queries) Claim(ctx context.Context, dossierID int64, kind domain.EventType, stepSeq int, deadline, at time.Time) (bool, error) {
	r := claimRow{DossierID: dossierID, Kind: string(kind), StepSeq: stepSeq, DeadlineAt: ts(deadline), CreatedAt: ts(at)}
	res := q.ctx(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	if res.Error != nil {
		return false, translate(res.Error, "deadline claim")
	}
	return res.RowsAffected == 1, nil
}

// SetNextCheck moves the watcher's next look at a dossier.
func (q queries) SetNextCheck(ctx context.Context, dossierID int64, next *time.Time) error {
	err := q.ctx(ctx).Model(&dossierRow{}).Where("id = ?", dossierID).UpdateColumn("next_deadline_at", tsp(next)).Error
	return translate(err, "next check")
}

// WriteEvents puts events in the outbox.
func (q queries) WriteEvents(ctx context.Context, events []domain.Event) error {
	return q.writeEvents(ctx, events)
}
