package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC to the microsecond (what both
// databases keep).
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Waker is told after a commit that wrote events, so the relay goes at once.
type Waker interface {
	Wake()
}

// Reader is the read side of storage, used outside transactions. Methods
// return *domain.Error of kind NotFound for a missing row.
type Reader interface {
	Agency(ctx context.Context, code string) (domain.Agency, error)
	Agencies(ctx context.Context) ([]domain.Agency, error)
	// Procedure returns a version of a procedure; version 0 is the current one.
	Procedure(ctx context.Context, code string, version int) (domain.Procedure, error)
	Procedures(ctx context.Context) ([]domain.Procedure, error)
	// CalendarDays returns the recorded days of the agency and the national ones.
	CalendarDays(ctx context.Context, agency string) ([]domain.CalendarDay, error)
	// Dossier returns a dossier with its steps, pauses, handoffs and history.
	Dossier(ctx context.Context, code string) (*domain.Dossier, error)
	// IdempotencyKey returns the request hash and dossier code (and PIN) stored under a
	// key, or found=false.
	IdempotencyKey(ctx context.Context, actor, key string) (hash, code, pin string, found bool, err error)
}

// LookupStore serves the citizen's look-up.
type LookupStore interface {
	// ReserveSequence reserves n numbers of an agency's daily dossier-code
	// sequence in a transaction of its own and returns the last; concurrent
	// callers, on any instance, never get the same numbers.
	ReserveSequence(ctx context.Context, agency, day string, n int) (last int64, err error)
	// LookupHead returns, in one indexed read, what every look-up checks
	// first: the dossier's id, version, PIN hash and lock.
	LookupHead(ctx context.Context, code string) (LookupHead, error)
	// DossierForLookup returns a dossier with its steps and pauses, as the
	// citizen's view needs it.
	DossierForLookup(ctx context.Context, code string) (*domain.Dossier, error)
	// PINFailure counts a wrong PIN; the max-th in a row locks the look-up
	// until lockUntil and starts the count again.
	PINFailure(ctx context.Context, id int64, max int, lockUntil time.Time) error
}

// Store is storage: reads, one transaction per command, and health.
type Store interface {
	Reader
	LookupStore
	ListStore
	SweepStore
	ReportStore
	ScoreStore
	// InTx runs fn in one transaction, committed when fn returns nil. The
	// commit error is returned unchanged.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Ping(ctx context.Context) error
}

// Tx is the work one command does in its transaction.
type Tx interface {
	Reader
	CalendarTx
	WatchTx
	// DossierForUpdate returns a dossier with its steps and pauses (not its
	// history), locked until the transaction ends where the database can.
	DossierForUpdate(ctx context.Context, code string) (*domain.Dossier, error)
	// ClearPINLock forgets a dossier's wrong PINs and lock (a new PIN was issued).
	ClearPINLock(ctx context.Context, dossierID int64) error
	// SaveAgency creates or updates an agency.
	SaveAgency(ctx context.Context, a domain.Agency) error
	// SaveProcedure stores p as a new version and makes it the current one.
	SaveProcedure(ctx context.Context, p domain.Procedure) error
	// SaveIdempotencyKey stores a key; Conflict "duplicate" if another request stored it first.
	SaveIdempotencyKey(ctx context.Context, actor, key, hash, code, pin string, at time.Time) error
	// InsertDossier writes a new dossier, its steps, and the change's history
	// and events (the outbox), setting d.ID.
	InsertDossier(ctx context.Context, d *domain.Dossier, ch domain.Change) error
	// UpdateDossier writes d if its stored version is still readVersion
	// (Conflict version_conflict otherwise), with the change's rows.
	UpdateDossier(ctx context.Context, d *domain.Dossier, readVersion int, ch domain.Change) error
}

// CalendarTx is the calendar part of a transaction.
type CalendarTx interface {
	// SaveCalendarDay records a day off or make-up working day.
	SaveCalendarDay(ctx context.Context, d domain.CalendarDay, at time.Time) error
	// DeleteCalendarDay removes a recorded day; NotFound if none was recorded.
	DeleteCalendarDay(ctx context.Context, date domain.Date, agency string) error
	// RunningDossiers returns the open dossiers whose clock runs and whose
	// dossier or step deadline is at or after from, of the given receiving
	// agency ("" for all), locked for update where the database can.
	RunningDossiers(ctx context.Context, from time.Time, agency string) ([]*domain.Dossier, error)
}

// DossierFilter selects dossiers for a list, newest received first.
type DossierFilter struct {
	Status        domain.Status // 0 = any
	AgencyCodes   []string      // receiving unit, lead agency or holder among these; nil = any
	ProcedureCode string
	OverdueAt     *time.Time // open, clock running, legal deadline before this instant
	ReceivedFrom  *time.Time // inclusive
	ReceivedTo    *time.Time // exclusive
	Limit         int
	// After is the keyset cursor: the received time and id of the last row seen.
	After *DossierCursor
}

// DossierCursor is a position in a list ordered by (received_at, id) descending.
type DossierCursor struct {
	ReceivedAt time.Time
	ID         int64
}

// ListStore lists dossiers.
type ListStore interface {
	// ListDossiers returns up to Limit dossiers (without history) and their cursors.
	ListDossiers(ctx context.Context, f DossierFilter) ([]*domain.Dossier, error)
	// Subtree returns the codes of an agency and every agency below it.
	Subtree(ctx context.Context, root string) ([]string, error)
}

// SweepStore finds dossiers for the background sweeps.
type SweepStore interface {
	// AwaitingSupplementSince returns the codes of dossiers waiting for a
	// supplement requested before the instant, oldest first.
	AwaitingSupplementSince(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// WatchTx is the deadline watcher's part of a transaction.
type WatchTx interface {
	// DueForCheck locks and returns up to limit dossiers whose next check is
	// at or before now, earliest first; rows another transaction holds are
	// skipped (PostgreSQL FOR UPDATE SKIP LOCKED), so several watchers share
	// the work.
	DueForCheck(ctx context.Context, now time.Time, limit int) ([]*domain.Dossier, error)
	// ClaimChecks records that late events are written for these checks and
	// returns those that were not claimed before, in one statement.
	ClaimChecks(ctx context.Context, claims []Claim, at time.Time) (map[Claim]bool, error)
	// SetNextChecks moves dossiers' next checks (nil: none) without touching
	// their versions, in one statement.
	SetNextChecks(ctx context.Context, next map[int64]*time.Time) error
	// WriteEvents puts events in the outbox.
	WriteEvents(ctx context.Context, events []domain.Event) error
}

// Claim names one late event once: (dossier, kind, step, deadline).
type Claim struct {
	DossierID int64
	Kind      domain.EventType
	StepSeq   int
	Deadline  int64 // Unix microseconds of the deadline
}

// LookupHead is the part of a dossier a look-up checks before anything else.
type LookupHead struct {
	ID          int64
	Version     int
	PINHash     string
	LockedUntil *time.Time
}
