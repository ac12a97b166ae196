package service

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/motcua/motcua/domain"
)

// Options tune the use cases.
type Options struct {
	// PINLimits bound wrong PINs; zero fields take DefaultPINLimits.
	PINLimits PINLimits
	// Secret keys the PIN hashes and seals the PINs kept for replays
	// (HKDF-derived keys, never used as it is); every instance needs the
	// same. Empty: a random key for this process (tests only).
	Secret []byte
	// IdempotencyTTL is how long an Idempotency-Key (and the sealed PIN a
	// replay shows) is kept; default 24 h.
	IdempotencyTTL time.Duration
	// SupplementLimit is how long, in working minutes, a dossier may wait for
	// a supplement before it is stopped; default 15 working days.
	SupplementLimit int64
	// DueSoonLead is how long, in working minutes, before a dossier's
	// deadline the due_soon event goes out; default one working day.
	DueSoonLead int64
	// WatchBatch is how many dossiers one watcher transaction takes; default 500.
	WatchBatch int
	// RecomputeBatch is how many dossiers one transaction of a calendar
	// recompute job takes, all locked until it commits (a command on one of
	// them waits for the batch); default 200: docs/benchmarks.md measured
	// waits of up to 5 s with 500 on an overloaded machine.
	RecomputeBatch int
	// RecomputeInline is how long the request that records or removes a day
	// works the job before answering (the background runner finishes the
	// rest); default 2 s, negative for none.
	RecomputeInline time.Duration
	Logger          *slog.Logger
	// Portal reads the national portal sync's state of a dossier; nil when
	// the sync is not configured (the dossier then shows no portal state).
	Portal PortalReader
}

// Service runs the commands and queries of motcua.
type Service struct {
	store Store
	clock Clock
	waker Waker
	opts  Options
	log   *slog.Logger
	keys  pinKeys
	// giveBacks applies right PINs' give-backs in batches (giveback.go).
	giveBacks *giveBacks

	idleAt   atomic.Int64 // 1 + a catalogue version seen with no recompute pending (transition.go)
	commands atomic.Int64 // intakes and transitions in progress (Busy)

	// Caches at a catalogue version (cache.go).
	calendars *atVersion[*domain.Calendar] // by agency
	names     *atVersion[string]           // agency and procedure names
	procs     *atVersion[domain.Procedure] // current versions, by code
	views     *viewCache
}

// New builds the service on a store. waker may be nil.
func New(store Store, clock Clock, waker Waker, opts Options) *Service {
	opts.PINLimits = opts.PINLimits.withDefaults()
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	if opts.SupplementLimit <= 0 {
		opts.SupplementLimit = 15 * domain.MinutesPerWorkingDay
	}
	if opts.DueSoonLead <= 0 {
		opts.DueSoonLead = domain.DefaultDueSoonLead
	}
	if opts.WatchBatch <= 0 {
		opts.WatchBatch = 500
	}
	if opts.RecomputeBatch <= 0 {
		opts.RecomputeBatch = 200
	}
	if opts.RecomputeInline == 0 {
		opts.RecomputeInline = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if clock == nil {
		clock = SystemClock{}
	}
	return &Service{store: store, clock: clock, waker: waker, opts: opts, log: opts.Logger, keys: newPINKeys(opts.Secret), calendars: newAtVersion[*domain.Calendar](10_000),
		views: newViewCache(50_000), names: newAtVersion[string](50_000), procs: newAtVersion[domain.Procedure](10_000), giveBacks: newGiveBacks(store, opts.Logger)}
}

// Now is the service's clock, for adapters that need the same time.
func (s *Service) Now() time.Time { return s.clock.Now() }

func (s *Service) wake() {
	if s.waker != nil {
		s.waker.Wake()
	}
}

// Busy reports whether this instance is taking a dossier in or changing one
// right now: background work that can wait (the notifier) slows down while
// it is, so it never takes the database and the cores from a clerk's command
// (docs/benchmarks.md, "Notifications to applicants").
func (s *Service) Busy() bool { return s.commands.Load() > 0 }

// command counts a command in progress until the returned func is called.
func (s *Service) command() func() {
	s.commands.Add(1)
	return func() { s.commands.Add(-1) }
}
