package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
)

// SessionStore keeps the pages' sessions where every instance sees them, so
// a session ended on one instance is ended on all at once.
type SessionStore interface {
	// CreateSession records a new session.
	CreateSession(ctx context.Context, s SessionRecord) error
	// SessionLive says whether a session is recorded, not ended and not
	// expired at now.
	SessionLive(ctx context.Context, idHash string, now time.Time) (bool, error)
	// EndSession ends one session (no error if it is unknown or ended).
	EndSession(ctx context.Context, idHash string, at time.Time) error
	// EndSessionsOf ends every live session of a person and says how many.
	EndSessionsOf(ctx context.Context, sub string, at time.Time) (int64, error)
}

// SessionRecord is a stored session. The id itself is never stored, only
// its hash: a copy of the table names no usable session.
type SessionRecord struct {
	IDHash    string
	Sub       string
	Via       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// StartSession records a session the pages just opened (id is the random
// session id the sealed cookie carries). It expires at expires, which the
// caller bounds by the token the person signed in with.
func (s *Service) StartSession(ctx context.Context, id, sub, via string, expires time.Time) error {
	now := s.clock.Now()
	if id == "" || sub == "" || !expires.After(now) {
		return domain.Invalidf("a session needs an id, a person and an expiry in the future")
	}
	return s.store.CreateSession(ctx, SessionRecord{IDHash: sessionHash(id), Sub: sub, Via: via, CreatedAt: now, ExpiresAt: expires})
}

// SessionLive says whether the session may still be used: recorded, not
// ended (signed out, or ended by an administrator) and not expired.
func (s *Service) SessionLive(ctx context.Context, id string) (bool, error) {
	return s.store.SessionLive(ctx, sessionHash(id), s.clock.Now())
}

// EndSession ends one session: signing out.
func (s *Service) EndSession(ctx context.Context, id string) error {
	return s.store.EndSession(ctx, sessionHash(id), s.clock.Now())
}

// EndSessionsOf ends every session of the person sub on every instance: an
// administrator's act (a lost device, a person leaving). It does not revoke
// bearer tokens, which live until their expiry.
func (s *Service) EndSessionsOf(ctx context.Context, actor domain.Actor, sub string) (int64, error) {
	if !actor.Has(domain.RoleAdmin) {
		return 0, domain.Forbiddenf("only an administrator can end another person's sessions")
	}
	sub = strings.TrimSpace(sub)
	if sub == "" || len(sub) > 255 {
		return 0, &domain.Error{Kind: domain.Invalid, Code: "validation_failed", Detail: "sub names the person whose sessions end",
			Fields: []domain.FieldError{{Field: "sub", Message: "required, at most 255 characters"}}}
	}
	return s.store.EndSessionsOf(ctx, sub, s.clock.Now())
}
