package store

import (
	"context"
	"time"

	"gorm.io/gorm"
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

// dueLook is how many of the oldest due rows per row asked DueNotifications
// looks at first: its look at every due row cost 57-185 ms a call on
// PostgreSQL with 10,000-18,000 rows waiting, taken from intake
// (docs/benchmarks.md, Where the notifier's weight on intake comes from).
const dueLook = 4

// DueNotifications returns up to limit pending rows whose next attempt is
// due, oldest first, only the first pending row of each dossier and channel
// (so an applicant's messages go in order). It looks among the oldest
// dueLook*limit due rows first, and at all of them only when those hold
// fewer than limit it may return: the same rows either way.
func (s *Store) DueNotifications(ctx context.Context, now time.Time, limit int) ([]domain.Notification, error) {
	rows, err := s.due(ctx, now, limit, dueLook*limit)
	if err == nil && len(rows) < limit {
		rows, err = s.due(ctx, now, limit, 0)
	}
	if err != nil {
		return nil, translate(err, "due notifications")
	}
	out := make([]domain.Notification, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out, nil
}

// due reads the first limit rows DueNotifications returns, among the
// oldest look due rows (0: all).
func (s *Store) due(ctx context.Context, now time.Time, limit, look int) ([]notificationRow, error) {
	from, args := "notifications", []any{ts(now), limit}
	if look > 0 {
		from = `(SELECT * FROM notifications WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?)`
		args = []any{ts(now), look, ts(now), limit}
	}
	var rows []notificationRow
	err := s.db.WithContext(ctx).Raw(`SELECT * FROM `+from+` n
		WHERE n.status = 'pending' AND n.next_at <= ? AND NOT EXISTS (
			SELECT 1 FROM notifications p WHERE p.dossier_code = n.dossier_code AND p.channel = n.channel
			AND p.status = 'pending' AND p.id < n.id)
		ORDER BY n.next_at, n.id LIMIT ?`, args...).Scan(&rows).Error
	return rows, err
}

// BeginAttempts takes an attempt at each of the pending, due rows among
// ids: it counts the attempt and moves the next one to next, in one
// statement that only one caller (of any instance) wins per row; it
// returns the ids this caller won.
func (s *Store) BeginAttempts(ctx context.Context, ids []int64, now, next time.Time) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// The ids pick the rows; the CASE keeps the planner off the index of
	// pending rows: with statistics from before a backlog it scanned every
	// pending row for each batch (docs/benchmarks.md, Where the notifier's
	// weight on intake comes from).
	var won []int64
	err := s.db.WithContext(ctx).Raw(`UPDATE notifications SET attempts = attempts + 1, next_at = ?, updated_at = ?
		WHERE id IN ? AND CASE WHEN status = 'pending' AND next_at <= ? THEN 1 ELSE 0 END = 1 RETURNING id`, ts(next), ts(now), ids, ts(now)).Scan(&won).Error
	if err != nil {
		return nil, translate(err, "notification attempts")
	}
	return won, nil
}

// FinishAttempts records attempts' outcomes in one transaction: sent
// (sent_at set), failed for good, or pending again at next with the error.
// A row no longer pending is left as it is. The sent rows, nearly all of
// them, are written by one statement (docs/benchmarks.md, Notifications to
// applicants: the notifier's statements are taken from intake's share).
func (s *Store) FinishAttempts(ctx context.Context, outs []service.AttemptOutcome, now time.Time) error {
	if len(outs) == 0 {
		return nil
	}
	var sent []int64
	for _, o := range outs {
		if o.Status == domain.NotificationSent {
			sent = append(sent, o.ID)
		}
	}
	return translate(s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if len(sent) > 0 {
			if err := g.Exec(`UPDATE notifications SET status = ?, last_error = NULL, next_at = ?, sent_at = ?, updated_at = ?
				WHERE id IN ? AND status = 'pending'`, string(domain.NotificationSent), ts(now), ts(now), ts(now), sent).Error; err != nil {
				return err
			}
		}
		for _, o := range outs {
			if o.Status == domain.NotificationSent {
				continue
			}
			if err := g.Exec(`UPDATE notifications SET status = ?, last_error = ?, next_at = ?, updated_at = ?
				WHERE id = ? AND status = 'pending'`, string(o.Status), strp(o.Error), ts(o.Next), ts(now), o.ID).Error; err != nil {
				return err
			}
		}
		return nil
	}), "notifications")
}

// Contacts reads the consent and contacts of the dossiers that consented
// to a channel, in one statement.
func (s *Store) Contacts(ctx context.Context, codes []string) (map[string]service.Contact, error) {
	out := map[string]service.Contact{}
	if len(codes) == 0 {
		return out, nil
	}
	var rows []struct {
		Code           string
		Notify         string
		ApplicantPhone string
		ApplicantEmail string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT code, notify, applicant_phone, applicant_email FROM dossiers
		WHERE code IN ? AND notify <> ''`, codes).Scan(&rows).Error; err != nil {
		return nil, translate(err, "dossier contacts")
	}
	for _, r := range rows {
		out[r.Code] = service.Contact{Notify: domain.ParseConsent(r.Notify), Phone: r.ApplicantPhone, Email: r.ApplicantEmail}
	}
	return out, nil
}

// DossiersForNotice reads, in three statements, what the messages about
// these dossiers say: each dossier's row, its pauses, and its refusal and
// stop history lines (their reasons). Codes not found are left out.
func (s *Store) DossiersForNotice(ctx context.Context, codes []string) (map[string]*domain.Dossier, error) {
	out := map[string]*domain.Dossier{}
	if len(codes) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx)
	var rows []dossierRow
	if err := db.Where("code IN ?", codes).Find(&rows).Error; err != nil {
		return nil, translate(err, "dossiers")
	}
	byID := map[int64]*domain.Dossier{}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		d := r.domain()
		out[d.Code], byID[d.ID] = d, d
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var pauses []pauseRow
	if err := db.Where("dossier_id IN ?", ids).Order("dossier_id, id").Find(&pauses).Error; err != nil {
		return nil, translate(err, "pauses")
	}
	for _, p := range pauses {
		d := byID[p.DossierID]
		d.Pauses = append(d.Pauses, p.domain())
	}
	var hist []historyRow
	if err := db.Where("dossier_id IN ? AND action IN ?", ids, []string{string(domain.ActionRefuse), string(domain.ActionStop)}).
		Order("dossier_id, id").Find(&hist).Error; err != nil {
		return nil, translate(err, "history")
	}
	for _, h := range hist {
		d := byID[h.DossierID]
		d.History = append(d.History, domain.HistoryEntry{At: h.At, Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle, Action: domain.HistoryAction(h.Action), From: domain.Status(h.FromStatus),
			To: domain.Status(h.ToStatus), Note: h.Note})
	}
	return out, nil
}

// NotificationsOf returns a dossier's notifications, oldest first.
func (q queries) NotificationsOf(ctx context.Context, code string) ([]domain.Notification, error) {
	var rows []notificationRow
	if err := q.ctx(ctx).Where("dossier_code = ?", code).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "notifications")
	}
	return notificationsOf(rows), nil
}

// notificationsOf converts a dossier's notification rows (none is an empty
// list, not nil).
func notificationsOf(rows []notificationRow) []domain.Notification {
	out := make([]domain.Notification, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.domain())
	}
	return out
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
