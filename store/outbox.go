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
	return s.PendingEventsAfter(ctx, 0, limit)
}

// PendingEventsAfter returns unpublished, unparked events written after seq,
// in order (events.CursorReader: the relay reads each row once while the
// ones before it are still in flight). It scans rows directly: the relay's
// hot path.
func (s *Store) PendingEventsAfter(ctx context.Context, after int64, limit int) ([]service.OutboxRecord, error) {
	rows, err := s.ctx(ctx).Raw(`SELECT seq, id, subject, type, dossier_code, data, occurred_at, attempts FROM outbox
		WHERE published_at IS NULL AND parked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`, after, limit).Rows()
	if err != nil {
		return nil, translate(err, "outbox")
	}
	defer rows.Close()
	out := make([]service.OutboxRecord, 0, limit)
	for rows.Next() {
		var (
			r         service.OutboxRecord
			typ, data string
		)
		if err := rows.Scan(&r.Seq, &r.ID, &r.Subject, &typ, &r.DossierCode, &data, &r.OccurredAt, &r.Attempts); err != nil {
			return nil, translate(err, "outbox")
		}
		r.Type, r.Data = domain.EventType(typ), []byte(data)
		out = append(out, r)
	}
	return out, translate(rows.Err(), "outbox")
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
