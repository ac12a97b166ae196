package service

import (
	"context"
	"errors"
	"time"
)

// PortalState is where a dossier stands with the national portal's copy
// (docs: README, National portal sync), as staff see it.
type PortalState struct {
	// SyncedAt is when the portal last acknowledged a call for the dossier.
	SyncedAt *time.Time
	// Pending: the dossier has a change the portal has not acknowledged yet.
	Pending bool
	// LastError is the last failure (the portal's message for a refusal).
	LastError string
	// Parked: the portal refused the dossier's content; the sync stopped
	// sending it until an operator resyncs it.
	Parked bool
}

// PortalReader reads the sync state of a dossier. PortalState returns
// found=false when the sync has never seen the dossier.
type PortalReader interface {
	PortalState(ctx context.Context, code string) (st PortalState, found bool, err error)
	// PortalRecordsSynced counts, per lead agency, the dossiers received in
	// [from, to) whose record the portal acknowledged before syncedBefore
	// (zero: at any time).
	PortalRecordsSynced(ctx context.Context, from, to, syncedBefore time.Time) (map[string]int, error)
}

// PortalState returns the dossier's sync state with the national portal, or
// nil when the sync is not configured. The caller has read the dossier
// (Dossier checks the actor may).
func (s *Service) PortalState(ctx context.Context, code string) (*PortalState, error) {
	if s.opts.Portal == nil {
		return nil, nil
	}
	st, found, err := s.opts.Portal.PortalState(ctx, code)
	if err != nil {
		return nil, err
	}
	if !found {
		// Not seen yet: the event naming it is still on its way.
		st.Pending = true
	}
	return &st, nil
}

// PortalClaim is a dossier a sync worker took: its lease is held under
// Token until the lease time, and the state it starts from.
type PortalClaim struct {
	Code         string
	Token        string
	Wanted       int64  // events seen when taken
	RecordHash   string // of the last record the portal acknowledged; "" = never (or resynced)
	EntriesAcked int    // history lines acknowledged as progress entries
	Inflight     string // the call under way when the last holder stopped without an answer, or ""
	Attempts     int    // failed attempts in a row
}

// PortalFailing is a dossier the sync is retrying or has parked.
type PortalFailing struct {
	Code          string
	Attempts      int
	LastError     string
	NextAttemptAt *time.Time
	ParkedAt      *time.Time
}

// PortalBacklog is what the sync has left to do.
type PortalBacklog struct {
	Pending            int        // dossiers with work not acknowledged yet (parked ones excluded)
	Retrying           int        // of them, those waiting after a failure
	Parked             int        // refused by the portal, waiting for an operator
	OldestPendingSince *time.Time // the oldest pending dossier's first unsynced change
	Resent             int        // calls repeated because their answer was lost (crash or time-out)
	Failing            []PortalFailing
}

// ErrPortalClaimLost says a worker's lease on a dossier is gone (it ran out
// and another worker took the dossier, or an operator resynced it): the
// worker must stop working on it.
var ErrPortalClaimLost = errors.New("portal sync: the lease on the dossier was lost")
