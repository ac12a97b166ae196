package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

var _ service.NotificationStore = (*Store)(nil)

// notificationRow is one message to an applicant: one per (event, channel).
type notificationRow struct {
	ID          int64 `gorm:"primaryKey"`
	EventID     string
	Channel     string
	DossierCode string
	Event       string
	Recipient   string // masked
	Status      string
	Attempts    int
	LastError   *string
	OccurredAt  time.Time
	CreatedAt   time.Time
	NextAt      time.Time
	SentAt      *time.Time
	UpdatedAt   time.Time
}

func (notificationRow) TableName() string { return "notifications" }

func (r notificationRow) domain() domain.Notification {
	return domain.Notification{ID: r.ID, EventID: r.EventID, Channel: domain.NotifyChannel(r.Channel), DossierCode: r.DossierCode,
		Event: domain.EventType(r.Event), To: r.Recipient, Status: domain.NotificationStatus(r.Status), Attempts: r.Attempts,
		LastError: deref(r.LastError), OccurredAt: r.OccurredAt, CreatedAt: r.CreatedAt, NextAt: r.NextAt, SentAt: r.SentAt}
}

// AddNotifications writes pending rows, skipping those whose (event,
// channel) is already written, and returns how many it added.
func (s *Store) AddNotifications(ctx context.Context, ns []domain.Notification, now time.Time) (int, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	rows := make([]notificationRow, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, notificationRow{EventID: n.EventID, Channel: string(n.Channel), DossierCode: n.DossierCode,
			Event: string(n.Event), Recipient: n.To, Status: string(domain.NotificationPending), OccurredAt: ts(n.OccurredAt),
			CreatedAt: ts(now), NextAt: ts(now), UpdatedAt: ts(now)})
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "event_id"}, {Name: "channel"}}, DoNothing: true}).Create(&rows)
	if res.Error != nil {
		return 0, translate(res.Error, "notifications")
	}
	return int(res.RowsAffected), nil
}

// DueNotifications returns up to limit pending rows whose next attempt is
// due, oldest first, only the first pending row of each dossier and channel
// (so an applicant's messages go in order).
func (s *Store) DueNotifications(ctx context.Context, now time.Time, limit int) ([]domain.Notification, error) {
	var rows []notificationRow
	err := s.db.WithContext(ctx).Raw(`SELECT * FROM notifications n
		WHERE n.status = 'pending' AND n.next_at <= ? AND NOT EXISTS (
			SELECT 1 FROM notifications p WHERE p.dossier_code = n.dossier_code AND p.channel = n.channel
			AND p.status = 'pending' AND p.id < n.id)
		ORDER BY n.next_at, n.id LIMIT ?`, ts(now), limit).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "due notifications")
	}
	out := make([]domain.Notification, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

// BeginAttempt takes one attempt at a pending, due row: it counts the
// attempt and moves the next one to next, in one statement that only one
// caller (of any instance) wins; it reports whether this one did.
func (s *Store) BeginAttempt(ctx context.Context, id int64, now, next time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE notifications SET attempts = attempts + 1, next_at = ?, updated_at = ?
		WHERE id = ? AND status = 'pending' AND next_at <= ?`, ts(next), ts(now), id, ts(now))
	if res.Error != nil {
		return false, translate(res.Error, "notification attempt")
	}
	return res.RowsAffected == 1, nil
}

// FinishAttempt records an attempt's outcome: sent (sentAt set), failed for
// good, or pending again at next with the error.
func (s *Store) FinishAttempt(ctx context.Context, id int64, status domain.NotificationStatus, lastError string, next time.Time, now time.Time) error {
	var sent *time.Time
	if status == domain.NotificationSent {
		sent = tsp(&now)
	}
	err := s.db.WithContext(ctx).Exec(`UPDATE notifications SET status = ?, last_error = ?, next_at = ?, sent_at = ?, updated_at = ?
		WHERE id = ? AND status = 'pending'`, string(status), strp(lastError), ts(next), sent, ts(now), id).Error
	return translate(err, "notification")
}

// NotificationsOf returns a dossier's notifications, oldest first.
func (q queries) NotificationsOf(ctx context.Context, code string) ([]domain.Notification, error) {
	var rows []notificationRow
	if err := q.ctx(ctx).Where("dossier_code = ?", code).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "notifications")
	}
	out := make([]domain.Notification, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

// NotificationStatus counts the rows per channel and status and lists the
// failed ones updated since the instant, newest first (at most limit).
func (s *Store) NotificationStatus(ctx context.Context, since time.Time, limit int) (service.NotificationReport, error) {
	var rep service.NotificationReport
	var counts []struct {
		Channel string
		Status  string
		N       int
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT channel, status, COUNT(*) AS n FROM notifications GROUP BY channel, status ORDER BY channel, status`).
		Scan(&counts).Error; err != nil {
		return rep, translate(err, "notification counts")
	}
	for _, c := range counts {
		rep.Counts = append(rep.Counts, service.NotificationCount{Channel: domain.NotifyChannel(c.Channel),
			Status: domain.NotificationStatus(c.Status), Count: c.N})
	}
	var oldest []notificationRow
	if err := s.db.WithContext(ctx).Where("status = 'pending'").Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return rep, translate(err, "pending notifications")
	}
	if len(oldest) == 1 {
		n := oldest[0].domain()
		rep.OldestPending = &n
	}
	var failed []notificationRow
	if err := s.db.WithContext(ctx).Where("status = 'failed' AND updated_at >= ?", ts(since)).Order("updated_at DESC, id DESC").
		Limit(limit).Find(&failed).Error; err != nil {
		return rep, translate(err, "failed notifications")
	}
	for _, r := range failed {
		rep.Failed = append(rep.Failed, r.domain())
	}
	return rep, nil
}
