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

// The ports are grouped by what each use case needs, so a use case (and
// its test's fake) takes the few methods it uses: a catalogue command a
// CatalogueTx, the intake an IntakeTx, a command on a dossier a DossierTx,
// the deadline watcher a WatchStore. Store and Tx are their sums, which
// storage implements.

// CatalogueReader reads the catalogue. Methods return *domain.Error of kind
// NotFound for a missing row.
type CatalogueReader interface {
	Agency(ctx context.Context, code string) (domain.Agency, error)
	Agencies(ctx context.Context) ([]domain.Agency, error)
	// Procedure returns a version of a procedure; version 0 is the current one.
	Procedure(ctx context.Context, code string, version int) (domain.Procedure, error)
	Procedures(ctx context.Context) ([]domain.Procedure, error)
	// CalendarDays returns the recorded days of the agency and the national ones.
	CalendarDays(ctx context.Context, agency string) ([]domain.CalendarDay, error)
	// CatalogueVersion reads the counter every change of agencies, procedures
	// or recorded calendar days moves on in its own transaction: a cached
	// calendar or name is used only while the counter is where it was read.
	CatalogueVersion(ctx context.Context) (int64, error)
}

// CalendarReader is what an agency's calendar is loaded from: its office
// hours and the recorded days.
type CalendarReader interface {
	Agency(ctx context.Context, code string) (domain.Agency, error)
	CalendarDays(ctx context.Context, agency string) ([]domain.CalendarDay, error)
}

// CalendarSource is what a transaction's calendar is loaded from: the
// calendar's rows and the catalogue's version, held until the transaction
// ends (CalendarTx.CatalogueVersionShared).
type CalendarSource interface {
	CalendarReader
	CatalogueVersionShared(ctx context.Context) (int64, error)
}

// DossierReader reads a whole dossier.
type DossierReader interface {
	// Dossier returns a dossier with its steps, pauses, handoffs and history.
	Dossier(ctx context.Context, code string) (*domain.Dossier, error)
}

// DossierWriter writes a changed dossier.
type DossierWriter interface {
	// UpdateDossier writes d if its stored version is still readVersion
	// (Conflict version_conflict otherwise), with the change's rows.
	UpdateDossier(ctx context.Context, d *domain.Dossier, readVersion int, ch domain.Change) error
}

// Reader is the read side of storage, used outside transactions.
type Reader interface {
	CatalogueReader
	DossierReader
	// Recomputes lists the latest calendar recompute jobs, newest first.
	Recomputes(ctx context.Context, limit int) ([]Recompute, error)
	// Recompute returns one job; NotFound if there is none with the id.
	Recompute(ctx context.Context, id int64) (Recompute, error)
	// IdempotencyKey returns the request hash and dossier code (and the
	// sealed PIN) stored under a key, or found=false.
	IdempotencyKey(ctx context.Context, actor, key string) (hash, code, pin string, found bool, err error)
}

// LookupStore serves the citizen's look-up.
type LookupStore interface {
	// LookupHead returns, in one indexed read, what every look-up checks
	// first: the dossier's id, version and PIN hash.
	LookupHead(ctx context.Context, code string) (LookupHead, error)
	// DossierForLookup returns a dossier with its steps and pauses, as the
	// citizen's view needs it.
	DossierForLookup(ctx context.Context, code string) (*domain.Dossier, error)
	// CountPINAttempt bumps attempt counters in one atomic statement and
	// returns their counts (this attempt included), in the order given. A
	// counter whose window ended at or before now starts again at 1 with the
	// given window end.
	CountPINAttempt(ctx context.Context, now time.Time, counts []GuardCount) ([]int, error)
	// AttemptLookup is a look-up's first step in one call (on PostgreSQL one
	// statement, one round trip): it counts the attempt on the client's and
	// the pair's counters as CountPINAttempt does, then on the dossier's
	// only if both stayed within their maxima, and reads the dossier's head
	// and the catalogue's version.
	AttemptLookup(ctx context.Context, a PINAttempt) (PINAttemptResult, error)
	// GiveBackPINAttempts takes right PINs' attempts back, a batch in one
	// statement: each client counter loses one per give-back, each pair's
	// and dossier's the count its latest give-back's attempt returned, never
	// below 0 and only in the window the attempt was counted in.
	GiveBackPINAttempts(ctx context.Context, gs []PINGiveBack) error
	// DeletePINGuards deletes the counters whose windows ended before now.
	DeletePINGuards(ctx context.Context, now time.Time) (int64, error)
	// LegacyPINHashes returns up to limit dossiers' PIN hashes of the old
	// unkeyed format, by dossier id.
	LegacyPINHashes(ctx context.Context, limit int) (map[int64]string, error)
	// ReplacePINHashes sets each dossier's hash to new where it is still
	// old ([old, new] by id) and returns how many rows changed.
	ReplacePINHashes(ctx context.Context, hashes map[int64][2]string) (int, error)
	// DeleteIdempotencyKeys deletes the keys stored before the instant.
	DeleteIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// Store is storage: reads, one transaction per command, and health.
type Store interface {
	Reader
	LookupStore
	ListStore
	SweepStore
	ReportStore
	SessionStore
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
	CatalogueTx
	IntakeTx
	DossierTx
}

// CatalogueTx is what a change of the catalogue does in its transaction.
type CatalogueTx interface {
	Agency(ctx context.Context, code string) (domain.Agency, error)
	Procedure(ctx context.Context, code string, version int) (domain.Procedure, error)
	// SaveAgency creates or updates an agency.
	SaveAgency(ctx context.Context, a domain.Agency) error
	// SaveProcedure stores p as a new version and makes it the current one.
	SaveProcedure(ctx context.Context, p domain.Procedure) error
}

// IntakeTx is what the intake of a dossier does in its transaction.
type IntakeTx interface {
	CalendarSource
	// NextSequence takes the next number of an agency's daily dossier-code
	// sequence inside the transaction: the counter row stays locked until
	// the transaction ends, so numbers follow the order of the commits, and
	// a rolled-back intake gives its number back.
	NextSequence(ctx context.Context, agency, day string) (int64, error)
	// InsertDossier writes a new dossier, its steps, and the change's history
	// and events (the outbox), setting d.ID.
	InsertDossier(ctx context.Context, d *domain.Dossier, ch domain.Change) error
	// SaveIdempotencyKey stores a key with the sealed PIN; Conflict
	// "duplicate" if another request stored it first.
	SaveIdempotencyKey(ctx context.Context, actor, key, hash, code, pin string, at time.Time) error
}

// DossierTx is what a command on one dossier does in its transaction: load
// it (locked), the calendar and the pending recomputes it is judged with,
// and write it back.
type DossierTx interface {
	CalendarSource
	DossierReader
	DossierWriter
	// DossierForUpdate returns a dossier with its steps and pauses (not its
	// history), locked until the transaction ends where the database can.
	DossierForUpdate(ctx context.Context, code string) (*domain.Dossier, error)
	// DossierWritten returns d as UpdateDossier stored it, with its
	// hand-offs, history and notifications as the transaction reads them.
	DossierWritten(ctx context.Context, d *domain.Dossier) (*domain.Dossier, error)
	// PendingRecomputes lists the unfinished recompute jobs, oldest first.
	PendingRecomputes(ctx context.Context) ([]Recompute, error)
	// ClearPINLock forgets a dossier's wrong PINs and lock, on every
	// address (a new PIN was issued).
	ClearPINLock(ctx context.Context, code string) error
}

// CalendarTx is the calendar part of a transaction.
type CalendarTx interface {
	// SaveCalendarDay records a day off or make-up working day.
	SaveCalendarDay(ctx context.Context, d domain.CalendarDay, at time.Time) error
	// DeleteCalendarDay removes a recorded day; NotFound if none was recorded.
	DeleteCalendarDay(ctx context.Context, date domain.Date, agency string) error
	// CatalogueVersionShared reads the catalogue's version counter and keeps
	// it from moving until the transaction ends (PostgreSQL FOR SHARE): a
	// concurrent change of the calendar waits, or is waited for and seen.
	CatalogueVersionShared(ctx context.Context) (int64, error)
	// CreateRecompute records a recompute job and sets its id.
	CreateRecompute(ctx context.Context, j *Recompute) error
	// LockRecompute locks a pending job (id 0: the oldest) until the
	// transaction ends; found is false when none is pending.
	LockRecompute(ctx context.Context, id int64) (j Recompute, found bool, err error)
	// SaveRecompute writes a job's progress.
	SaveRecompute(ctx context.Context, j Recompute) error
	// PendingRecomputes lists the unfinished jobs, oldest first.
	PendingRecomputes(ctx context.Context) ([]Recompute, error)
	// RunningDossiersAfter returns, in id order after afterID, up to limit
	// open dossiers whose clock runs and whose dossier or step deadline is at
	// or after from, of the given receiving agency ("" for all), locked for
	// update where the database can.
	RunningDossiersAfter(ctx context.Context, from time.Time, agency string, afterID int64, limit int) ([]*domain.Dossier, error)
}

// DossierFilter selects dossiers for a list, newest received first.
type DossierFilter struct {
	Status        domain.Status // 0 = any
	AgencyCodes   []string      // one of the involved agencies (domain.Dossier.InvolvedAgencies) among these; nil = any
	ProcedureCode string
	OverdueAt     *time.Time  // open, clock running, legal deadline before this instant
	ReceivedFrom  *time.Time  // inclusive
	ReceivedTo    *time.Time  // exclusive
	Late          *LateFilter // the dossiers behind a lateness report count; nil = any
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
	// NextChecksDue locks and returns up to limit dossiers whose next check is
	// at or before now, earliest first; rows another transaction holds are
	// skipped (PostgreSQL FOR UPDATE SKIP LOCKED), so several watchers share
	// the work.
	NextChecksDue(ctx context.Context, now time.Time, limit int) ([]*domain.Dossier, error)
	// ClaimChecks records that late events are written for these checks and
	// returns those that were not claimed before, in one statement.
	ClaimChecks(ctx context.Context, claims []Claim, at time.Time) (map[Claim]bool, error)
	// SetNextCheckAt moves dossiers' next checks (nil: none) without touching
	// their versions, in one statement.
	SetNextCheckAt(ctx context.Context, next map[int64]*time.Time) error
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

// PINAttempt is what AttemptLookup counts and reads.
type PINAttempt struct {
	Now                time.Time
	Client, Pair       GuardCount
	MaxClient, MaxPair int
	Dossier            GuardCount
	Code               string
}

// PINAttemptResult is AttemptLookup's answer: the counts (this attempt
// included; Dossier is 0 when the dossier's counter was not counted), the
// head (Found false for an unknown code) and the catalogue's version.
type PINAttemptResult struct {
	Client, Pair, Dossier int
	Head                  LookupHead
	Found                 bool
	Catalogue             int64
}

// PINGiveBack is a right PIN's attempt to take back: its counters as
// AttemptLookup counted them (WindowEnd: the end of a window started at the
// attempt) and the pair's and the dossier's counts the attempt returned.
type PINGiveBack struct {
	Client, Pair, Dossier   GuardCount
	PairCount, DossierCount int
}

// LookupHead is the part of a dossier a look-up checks before anything else.
type LookupHead struct {
	ID      int64
	Version int
	PINHash string
}
