package store

import (
	"context"
	"time"

	"github.com/motcua/motcua/service"
)

// The pages' sessions (migration 00013): one row per sign-in, keyed by the
// hash of the session id.

// sessionGrace is how long after its expiry a session row is kept (what an
// operator may want to see about a recent sign-in) before it is deleted.
const sessionGrace = 24 * time.Hour

// CreateSession records a new session and deletes rows expired more than a
// day ago (sign-ins are rare; this keeps the table small without a job).
func (s *Store) CreateSession(ctx context.Context, ss service.SessionRecord) error {
	db := s.ctx(ctx)
	if err := db.Exec(`DELETE FROM sessions WHERE expires_at < ?`, ts(ss.CreatedAt.Add(-sessionGrace))).Error; err != nil {
		return translate(err, "sessions")
	}
	err := db.Exec(`INSERT INTO sessions (id, sub, via, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		ss.IDHash, ss.Sub, ss.Via, ts(ss.CreatedAt), ts(ss.ExpiresAt)).Error
	return translate(err, "session")
}

// SessionLive says whether the session is recorded, not ended and not
// expired at now: one primary-key read.
func (s *Store) SessionLive(ctx context.Context, idHash string, now time.Time) (bool, error) {
	var n int64
	err := s.ctx(ctx).Raw(`SELECT COUNT(*) FROM sessions WHERE id = ? AND ended_at IS NULL AND expires_at > ?`, idHash, ts(now)).Scan(&n).Error
	if err != nil {
		return false, translate(err, "session")
	}
	return n == 1, nil
}

// EndSession ends one session; ending an unknown or ended one is no error.
func (s *Store) EndSession(ctx context.Context, idHash string, at time.Time) error {
	err := s.ctx(ctx).Exec(`UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`, ts(at), idHash).Error
	return translate(err, "session")
}

// EndSessionsOf ends every live session of a person and returns how many.
func (s *Store) EndSessionsOf(ctx context.Context, sub string, at time.Time) (int64, error) {
	res := s.ctx(ctx).Exec(`UPDATE sessions SET ended_at = ? WHERE sub = ? AND ended_at IS NULL AND expires_at > ?`, ts(at), sub, ts(at))
	if res.Error != nil {
		return 0, translate(res.Error, "sessions")
	}
	return res.RowsAffected, nil
}
