package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// PendingEvents returns unpublished, unparked events in the order written.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]service.OutboxRecord, error) {
	var rows []outboxRow
	err := s.ctx(ctx).Where("published_at IS NULL AND parked_at IS NULL").Order("seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, translate(err, "outbox")
	}
	out := make([]service.OutboxRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, service.OutboxRecord{Seq: r.Seq, ID: r.ID, Subject: r.Subject, Type: domain.EventType(r.Type),
			DossierCode: r.DossierCode, Data: []byte(r.Data), OccurredAt: r.OccurredAt, Attempts: r.Attempts})
	}
	return out, nil
}

// MarkPublished records JetStream's acknowledgement.
func (s *Store) MarkPublished(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.ctx(ctx).Model(&outboxRow{}).Where("seq IN ?", seqs).Update("published_at", ts(at)).Error
	return translate(err, "outbox")
}

// MarkFailed counts a failed attempt, parking the event when told to.
func (s *Store) MarkFailed(ctx context.Context, seq int64, reason string, park bool) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	upd := map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": reason}
	if park {
		upd["parked_at"] = ts(time.Now())
	}
	err := s.ctx(ctx).Model(&outboxRow{}).Where("seq = ?", seq).Updates(upd).Error
	return translate(err, "outbox")
}

// OutboxBacklog counts unpublished events and dates the oldest.
func (s *Store) OutboxBacklog(ctx context.Context) (int64, *time.Time, error) {
	pending := s.ctx(ctx).Model(&outboxRow{}).Where("published_at IS NULL AND parked_at IS NULL")
	var n int64
	if err := pending.Count(&n).Error; err != nil {
		return 0, nil, translate(err, "outbox")
	}
	if n == 0 {
		return 0, nil, nil
	}
	// A plain column (not min()) keeps its declared type, so SQLite returns a time.
	var oldest []outboxRow
	err := s.ctx(ctx).Select("seq", "created_at").Where("published_at IS NULL AND parked_at IS NULL").Order("seq").Limit(1).Find(&oldest).Error
	if err != nil || len(oldest) == 0 {
		return n, nil, translate(err, "outbox")
	}
	return n, &oldest[0].CreatedAt, nil
}
