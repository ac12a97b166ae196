package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// The national portal sync's state, one row per dossier (migration 00011).
// Every write here is a short transaction of its own, made right after the
// portal's answer, and every write of a worker names the worker's claim
// token: a worker whose lease ran out (or whose dossier was resynced)
// changes nothing and learns it (service.ErrPortalClaimLost).

var _ service.PortalReader = (*Store)(nil)

const portalUpsert = `INSERT INTO portal_sync (dossier_code, wanted, pending, pending_since, next_attempt_at, updated_at)
	VALUES (?, 1, true, ?, ?, ?)
	ON CONFLICT (dossier_code) DO UPDATE SET
		wanted = portal_sync.wanted + 1,
		pending = true,
		pending_since = COALESCE(portal_sync.pending_since, excluded.pending_since),
		next_attempt_at = CASE
			WHEN portal_sync.claim IS NOT NULL AND portal_sync.next_attempt_at > excluded.next_attempt_at THEN portal_sync.next_attempt_at
			WHEN portal_sync.pending AND portal_sync.next_attempt_at > excluded.next_attempt_at THEN portal_sync.next_attempt_at
			ELSE excluded.next_attempt_at END,
		updated_at = excluded.updated_at`

// PortalMark records that dossiers need syncing (an event named them), in
// one transaction. Each becomes pending and due now, unless a worker holds
// it (the worker sees the change when it finishes, through wanted) or it
// waits for a retry (the back-off holds). A parked dossier stays parked.
func (s *Store) PortalMark(ctx context.Context, codes []string, now time.Time) error {
	codes = slices.Compact(slices.Sorted(slices.Values(codes)))
	if len(codes) == 0 {
		return nil
	}
	now = ts(now)
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		for _, c := range codes {
			if err := g.Exec(portalUpsert, c, now, now, now).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return translate(err, "portal sync mark")
}

// PortalResync makes the sync send a dossier again from its current state,
// as if the portal had never seen it (for a portal that lost it): the record
// with isUpdating False, then every progress entry. It unparks the dossier
// and takes it from any worker that holds it. NotFound for an unknown
// dossier. The first acknowledgement time of the record is kept.
func (s *Store) PortalResync(ctx context.Context, code string, now time.Time) error {
	now = ts(now)
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var n int64
		if err := g.Table("dossiers").Where("code = ?", code).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return domain.NotFoundf("no dossier %q", code)
		}
		if err := g.Exec(portalUpsert, code, now, now, now).Error; err != nil {
			return err
		}
		return g.Exec(`UPDATE portal_sync SET record_hash = '', entries_acked = 0, parked_at = NULL, claim = NULL,
			inflight = '', attempts = 0, last_error = '', next_attempt_at = ?, pending = true,
			pending_since = COALESCE(pending_since, ?) WHERE dossier_code = ?`, now, now, code).Error
	})
	if domain.KindOf(err) == domain.NotFound {
		return err
	}
	return translate(err, "portal resync")
}

type portalClaimRow struct {
	DossierCode  string
	Wanted       int64
	RecordHash   string
	EntriesAcked int
	Inflight     string
	Attempts     int
}

// PortalClaim takes up to limit due dossiers (pending, not parked, due at
// or before now: a retry whose time came, or a lease that ran out) for a
// worker until leaseUntil, earliest due first. Concurrent claimers never get
// the same dossier (PostgreSQL skips rows another claim holds; SQLite writes
// one at a time).
func (s *Store) PortalClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]service.PortalClaim, error) {
	token := newToken()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []portalClaimRow
	err := s.ctx(ctx).Raw(`UPDATE portal_sync SET claim = ?, next_attempt_at = ?
		WHERE dossier_code IN (SELECT dossier_code FROM portal_sync
			WHERE pending AND parked_at IS NULL AND next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT ?`+lock+`)
		RETURNING dossier_code, wanted, record_hash, entries_acked, inflight, attempts`,
		token, ts(leaseUntil), ts(now), limit).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "portal claim")
	}
	out := make([]service.PortalClaim, len(rows))
	for i, r := range rows {
		out[i] = service.PortalClaim{Code: r.DossierCode, Token: token, Wanted: r.Wanted, RecordHash: r.RecordHash,
			EntriesAcked: r.EntriesAcked, Inflight: r.Inflight, Attempts: r.Attempts}
	}
	return out, nil
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// claimed runs an update of a claimed row; ErrPortalClaimLost when the
// claim is no longer the worker's.
func (s *Store) claimed(ctx context.Context, what, sql string, args ...any) error {
	res := s.ctx(ctx).Exec(sql, args...)
	if res.Error != nil {
		return translate(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return service.ErrPortalClaimLost
	}
	return nil
}

// PortalBegin records the call a worker is about to make (inflight) and
// renews its lease, before the call. resent says the same call was under
// way when the last holder stopped without an answer: it is counted.
func (s *Store) PortalBegin(ctx context.Context, c service.PortalClaim, inflight string, resent bool, leaseUntil time.Time) error {
	add := 0
	if resent {
		add = 1
	}
	return s.claimed(ctx, "portal begin", `UPDATE portal_sync SET inflight = ?, next_attempt_at = ?, resent = resent + ?
		WHERE dossier_code = ? AND claim = ?`, inflight, ts(leaseUntil), add, c.Code, c.Token)
}

// PortalAckRecord records the portal's acknowledgement of the dossier's
// record with that hash; the first one also stamps record_synced_at.
func (s *Store) PortalAckRecord(ctx context.Context, c service.PortalClaim, hash string, at time.Time) error {
	at = ts(at)
	return s.claimed(ctx, "portal record ack", `UPDATE portal_sync SET record_hash = ?, record_synced_at = COALESCE(record_synced_at, ?),
		synced_at = ?, inflight = '', attempts = 0, last_error = '', updated_at = ? WHERE dossier_code = ? AND claim = ?`,
		hash, at, at, at, c.Code, c.Token)
}

// PortalAckEntry records the portal's acknowledgement of progress entries
// up to n (history lines 1..n).
func (s *Store) PortalAckEntry(ctx context.Context, c service.PortalClaim, n int, at time.Time) error {
	at = ts(at)
	return s.claimed(ctx, "portal entry ack", `UPDATE portal_sync SET entries_acked = ?, synced_at = ?, inflight = '',
		attempts = 0, last_error = '', updated_at = ? WHERE dossier_code = ? AND claim = ? AND entries_acked = ?`,
		n, at, at, c.Code, c.Token, n-1)
}

// PortalRelease ends a worker's claim on a dossier it brought up to date:
// it stays pending (and due now) only if an event came meanwhile (wanted
// moved on).
func (s *Store) PortalRelease(ctx context.Context, c service.PortalClaim, at time.Time) error {
	at = ts(at)
	res := s.ctx(ctx).Exec(`UPDATE portal_sync SET claim = NULL, pending = false, pending_since = NULL, next_attempt_at = NULL,
		attempts = 0, last_error = '', updated_at = ? WHERE dossier_code = ? AND claim = ? AND wanted = ?`, at, c.Code, c.Token, c.Wanted)
	if res.Error != nil {
		return translate(res.Error, "portal release")
	}
	if res.RowsAffected == 1 {
		return nil
	}
	return s.claimed(ctx, "portal release", `UPDATE portal_sync SET claim = NULL, next_attempt_at = ?,
		attempts = 0, last_error = '', updated_at = ? WHERE dossier_code = ? AND claim = ?`, at, at, c.Code, c.Token)
}

// PortalRetry ends a worker's claim after a failure: the dossier is tried
// again at next, and the error (without personal data) is kept, with the
// call whose answer never came (c.Inflight; "" when the portal answered).
// An empty msg hands the dossier back without counting a failure (a stop).
func (s *Store) PortalRetry(ctx context.Context, c service.PortalClaim, msg string, next, at time.Time) error {
	add := 1
	if msg == "" {
		add = 0 // handed back at a stop: not a failure
	}
	return s.claimed(ctx, "portal retry", `UPDATE portal_sync SET claim = NULL, next_attempt_at = ?, attempts = attempts + ?,
		last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, inflight = ?, updated_at = ? WHERE dossier_code = ? AND claim = ?`,
		ts(next), add, msg, msg, c.Inflight, ts(at), c.Code, c.Token)
}

// PortalPark ends a worker's claim on a dossier whose content the portal
// refused: it waits, with the portal's message, for an operator's resync.
func (s *Store) PortalPark(ctx context.Context, c service.PortalClaim, msg string, at time.Time) error {
	at = ts(at)
	return s.claimed(ctx, "portal park", `UPDATE portal_sync SET claim = NULL, next_attempt_at = NULL, parked_at = ?,
		inflight = '', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE dossier_code = ? AND claim = ?`,
		at, msg, at, c.Code, c.Token)
}

type portalStateRow struct {
	SyncedAt     *time.Time
	Pending      bool
	LastError    string
	ParkedAt     *time.Time
	EntriesAcked int
	History      int
}

// PortalState returns the dossier's sync state; pending also when the
// dossier has history lines the portal has not acknowledged (the event
// naming them may not have arrived yet).
func (s *Store) PortalState(ctx context.Context, code string) (service.PortalState, bool, error) {
	var rows []portalStateRow
	err := s.ctx(ctx).Raw(`SELECT p.synced_at, p.pending, p.last_error, p.parked_at, p.entries_acked,
		(SELECT count(*) FROM dossier_history h WHERE h.dossier_id = d.id) AS history
		FROM portal_sync p JOIN dossiers d ON d.code = p.dossier_code WHERE p.dossier_code = ?`, code).Scan(&rows).Error
	if err != nil {
		return service.PortalState{}, false, translate(err, "portal state")
	}
	if len(rows) == 0 {
		return service.PortalState{}, false, nil
	}
	r := rows[0]
	return service.PortalState{SyncedAt: r.SyncedAt, Pending: r.Pending || r.ParkedAt != nil || r.History > r.EntriesAcked,
		LastError: r.LastError, Parked: r.ParkedAt != nil}, true, nil
}

// PortalBacklog sums up what the sync has left, with up to failing of the
// dossiers retrying or parked (parked first, then most attempts).
func (s *Store) PortalBacklog(ctx context.Context, failing int) (service.PortalBacklog, error) {
	var b service.PortalBacklog
	var agg struct {
		Pending  int
		Retrying int
		Parked   int
		Resent   int
	}
	err := s.ctx(ctx).Raw(`SELECT
		COALESCE(SUM(CASE WHEN pending AND parked_at IS NULL THEN 1 ELSE 0 END), 0) AS pending,
		COALESCE(SUM(CASE WHEN pending AND parked_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) AS retrying,
		COALESCE(SUM(CASE WHEN parked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS parked,
		COALESCE(SUM(resent), 0) AS resent
		FROM portal_sync WHERE pending OR parked_at IS NOT NULL OR resent > 0`).Scan(&agg).Error
	if err != nil {
		return b, translate(err, "portal backlog")
	}
	b.Pending, b.Retrying, b.Parked, b.Resent = agg.Pending, agg.Retrying, agg.Parked, agg.Resent
	// A plain column read, not MIN(): SQLite gives an aggregate no column
	// type, so its time would come back as text.
	var oldest []struct{ PendingSince *time.Time }
	if err := s.ctx(ctx).Raw(`SELECT pending_since FROM portal_sync WHERE pending AND parked_at IS NULL
		AND pending_since IS NOT NULL ORDER BY pending_since LIMIT 1`).Scan(&oldest).Error; err != nil {
		return b, translate(err, "portal backlog")
	}
	if len(oldest) == 1 {
		b.OldestPendingSince = oldest[0].PendingSince
	}
	if failing > 0 {
		var rows []struct {
			DossierCode   string
			Attempts      int
			LastError     string
			NextAttemptAt *time.Time
			ParkedAt      *time.Time
		}
		err := s.ctx(ctx).Raw(`SELECT dossier_code, attempts, last_error, next_attempt_at, parked_at FROM portal_sync
			WHERE parked_at IS NOT NULL OR (pending AND attempts > 0)
			ORDER BY CASE WHEN parked_at IS NULL THEN 1 ELSE 0 END, attempts DESC, dossier_code LIMIT ?`, failing).Scan(&rows).Error
		if err != nil {
			return b, translate(err, "portal failing")
		}
		for _, r := range rows {
			b.Failing = append(b.Failing, service.PortalFailing{Code: r.DossierCode, Attempts: r.Attempts, LastError: r.LastError,
				NextAttemptAt: r.NextAttemptAt, ParkedAt: r.ParkedAt})
		}
	}
	return b, nil
}

// PortalRecordsSynced counts, per lead agency (the scorecard's agencies, as
// the compliance report's), the dossiers received
// in [from, to) (counting began: counter and postal intake, online
// acceptance; docs/domain.md, How each figure is counted) whose record the
// national portal acknowledged before syncedBefore (zero: at any time): the
// numerator of the scorecard's indicator 1.4 (Decision 766/QĐ-TTg).
func (s *Store) PortalRecordsSynced(ctx context.Context, from, to, syncedBefore time.Time) (map[string]int, error) {
	q := `SELECT d.lead_agency_code AS agency, count(DISTINCT d.id) AS n
		FROM dossiers d
		JOIN dossier_history h ON h.dossier_id = d.id AND h.to_status = ? AND h.from_status IN (0, ?)
		JOIN portal_sync p ON p.dossier_code = d.code AND p.record_synced_at IS NOT NULL
		WHERE h.at >= ? AND h.at < ?`
	args := []any{int(domain.StatusReceived), int(domain.StatusNew), ts(from), ts(to)}
	if !syncedBefore.IsZero() {
		q += ` AND p.record_synced_at < ?`
		args = append(args, ts(syncedBefore))
	}
	var rows []struct {
		Agency string
		N      int
	}
	if err := s.ctx(ctx).Raw(q+` GROUP BY d.lead_agency_code`, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "portal records synced")
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Agency] = r.N
	}
	return out, nil
}
