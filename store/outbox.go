package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// The outbox holds the events not yet published: pending ones, and parked
// ones (parked_at set) that never will be. Publishing an event moves its row
// to outbox_published (migration 00005 says why), where PruneOutbox deletes
// it after the retention.

// PendingEvents returns unpublished, unparked events in the order written.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]service.OutboxRecord, error) {
	return s.PendingEventsAfter(ctx, 0, nil, limit)
}

// PendingEventsAfter returns unpublished, unparked events written after seq,
// and those among also (seqs the relay saw missing below it: transactions
// that took their seq earlier and had not committed yet), in order
// (events.CursorReader: the relay reads each row once while the ones before
// it are still in flight). It scans rows directly: the relay's hot path.
func (s *Store) PendingEventsAfter(ctx context.Context, after int64, also []int64, limit int) ([]service.OutboxRecord, error) {
	cond, args := "seq > ?", []any{after}
	if len(also) > 0 {
		in, list := s.seqIn(also)
		cond, args = "(seq > ? OR "+in+")", append(args, list)
	}
	rows, err := s.ctx(ctx).Raw(`SELECT seq, id, subject, type, dossier_code, data, occurred_at, attempts FROM outbox
		WHERE parked_at IS NULL AND `+cond+` ORDER BY seq LIMIT ?`, append(args, limit)...).Rows()
	if err != nil {
		return nil, translate(err, "outbox")
	}
	defer rows.Close()
	// Most reads find a few rows (each commit wakes the relay): grow as needed.
	out := make([]service.OutboxRecord, 0, min(limit, 64))
	for rows.Next() {
		var (
			r   service.OutboxRecord
			typ string
		)
		if err := rows.Scan(&r.Seq, &r.ID, &r.Subject, &typ, &r.DossierCode, &r.Data, &r.OccurredAt, &r.Attempts); err != nil {
			return nil, translate(err, "outbox")
		}
		r.Type = domain.EventType(typ)
		out = append(out, r)
	}
	return out, translate(rows.Err(), "outbox")
}

// MarkPublished records JetStream's acknowledgement: it moves the events to
// outbox_published. The seqs go as one parameter (an array on PostgreSQL, a
// JSON array on SQLite), so a large batch is neither a huge statement nor
// over SQLite's limit of parameters. An event already moved (by another
// relay) is left as it is.
func (s *Store) MarkPublished(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	in, list := s.seqIn(seqs)
	const columns = "seq, id, subject, type, dossier_code, data, occurred_at, created_at"
	if s.dialect == Postgres {
		err := s.ctx(ctx).Exec(`WITH moved AS (
			DELETE FROM outbox WHERE `+in+` RETURNING `+columns+`, attempts)
			INSERT INTO outbox_published (`+columns+`, published_at, attempts)
			SELECT `+columns+`, ?, attempts FROM moved ON CONFLICT (seq) DO NOTHING`,
			list, ts(at)).Error
		return translate(err, "outbox")
	}
	// SQLite has no DELETE in a WITH: two statements, one transaction.
	err := s.ctx(ctx).Transaction(func(g *gorm.DB) error {
		if err := g.Exec(`INSERT INTO outbox_published (`+columns+`, published_at, attempts)
			SELECT `+columns+`, ?, attempts FROM outbox WHERE `+in+` ON CONFLICT (seq) DO NOTHING`,
			ts(at), list).Error; err != nil {
			return err
		}
		return g.Exec(`DELETE FROM outbox WHERE `+in, list).Error
	})
	return translate(err, "outbox")
}

// MarkFailed counts a failed attempt, parking the event when told to.
func (s *Store) MarkFailed(ctx context.Context, seq int64, reason string, park bool) error {
	if len(reason) > 1000 {
		// Cut at 1,000 bytes, dropping a character cut in two: PostgreSQL
		// refuses invalid UTF-8.
		reason = strings.ToValidUTF8(reason[:1000], "")
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
	pending := s.ctx(ctx).Model(&outboxRow{}).Where("parked_at IS NULL")
	var n int64
	if err := pending.Count(&n).Error; err != nil {
		return 0, nil, translate(err, "outbox")
	}
	if n == 0 {
		return 0, nil, nil
	}
	// A plain column (not min()) keeps its declared type, so SQLite returns a time.
	var oldest []outboxRow
	err := s.ctx(ctx).Select("seq", "created_at").Where("parked_at IS NULL").Order("seq").Limit(1).Find(&oldest).Error
	if err != nil || len(oldest) == 0 {
		return n, nil, translate(err, "outbox")
	}
	return n, &oldest[0].CreatedAt, nil
}

// ParkedEvent is an event the relay set aside because it can never be
// published as it is, with the reason.
type ParkedEvent struct {
	Seq         int64
	ID          string
	Subject     string
	Type        string
	DossierCode string
	Attempts    int
	LastError   string
	ParkedAt    time.Time
}

// ParkedEvents lists up to limit parked events, oldest first.
func (s *Store) ParkedEvents(ctx context.Context, limit int) ([]ParkedEvent, error) {
	var rows []outboxRow
	err := s.ctx(ctx).Where("parked_at IS NOT NULL").Order("seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, translate(err, "outbox")
	}
	out := make([]ParkedEvent, len(rows))
	for i, r := range rows {
		out[i] = ParkedEvent{Seq: r.Seq, ID: r.ID, Subject: r.Subject, Type: r.Type, DossierCode: r.DossierCode, Attempts: r.Attempts}
		if r.LastError != nil {
			out[i].LastError = *r.LastError
		}
		if r.ParkedAt != nil {
			out[i].ParkedAt = *r.ParkedAt
		}
	}
	return out, nil
}

// RequeueParked makes parked events pending again (all of them when seqs is
// empty), once their cause is fixed (a release that encodes them, a stream
// that takes larger messages), and wakes the relay. It returns how many. A
// requeued event goes after the later events of its dossier that were
// published meanwhile: consumers see it late, never twice (same id).
func (s *Store) RequeueParked(ctx context.Context, seqs []int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		q := g.Model(&outboxRow{}).Where("parked_at IS NOT NULL")
		if len(seqs) > 0 {
			q = q.Where("seq IN ?", seqs)
		}
		res := q.Updates(map[string]any{"parked_at": nil, "attempts": 0})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		if n > 0 && s.dialect == Postgres {
			return notifyOutbox(g)
		}
		return nil
	})
	return n, translate(err, "outbox")
}

// notifyOutbox signals OutboxChannel on PostgreSQL. Delivered at commit, to
// every instance's listener: the relay wakes at once.
func notifyOutbox(db *gorm.DB) error {
	return db.Exec("SELECT pg_notify(?, '')", OutboxChannel).Error
}

// seqIn is the condition "seq is one of seqs" with its one parameter: an
// array on PostgreSQL, a JSON array on SQLite, so a long list is neither a
// huge statement nor over SQLite's limit of parameters.
func (s *Store) seqIn(seqs []int64) (cond, param string) {
	var b strings.Builder
	b.Grow(len(seqs) * 8)
	for i, seq := range seqs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(seq, 10))
	}
	if s.dialect == Postgres {
		return "seq = ANY(CAST(? AS bigint[]))", "{" + b.String() + "}"
	}
	return "seq IN (SELECT value FROM json_each(?))", "[" + b.String() + "]"
}
