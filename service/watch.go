package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// WatchPass is what one pass of the deadline watcher did.
type WatchPass struct {
	Fired map[domain.EventType]int
	// Lag is how long after its time the most belated check fired.
	Lag time.Duration
	// Seen is how many dossiers the pass looked at.
	Seen int
}

// WatchDeadlines writes the late-processing events whose time has come,
// each once per deadline: the dossiers are found through the indexed
// next-check column, so a pass costs what passes, not what is stored; each
// event is claimed in the same transaction that writes it to the outbox, so a
// second instance, a retry or a restart cannot publish it twice.
func (s *Service) WatchDeadlines(ctx context.Context) (WatchPass, error) {
	pass := WatchPass{Fired: map[domain.EventType]int{}}
	for round := 0; round < 100; round++ {
		now := s.clock.Now()
		n := 0
		err := s.store.InTx(ctx, func(tx Tx) error {
			var err error
			n, err = s.watchBatch(ctx, tx, now, &pass)
			return err
		})
		if err != nil {
			return pass, err
		}
		pass.Seen += n
		if n < s.opts.WatchBatch {
			break
		}
	}
	if len(pass.Fired) > 0 {
		s.wake()
	}
	return pass, nil
}

// WatchStore is what one batch of the deadline watcher needs of its
// transaction: the dossiers due, the calendars, the pending recomputes,
// and the writes.
type WatchStore interface {
	WatchTx
	CalendarSource
	// PendingRecomputes lists the unfinished recompute jobs, oldest first.
	PendingRecomputes(ctx context.Context) ([]Recompute, error)
	DossierWriter
}

// lateCheck is a check whose time has come, with its dossier and calendar.
type lateCheck struct {
	d     *domain.Dossier
	cal   *domain.Calendar
	check domain.Check
}

// watchBatch takes one batch of dossiers due at now, claims their due
// checks, writes the events of those claimed now, and moves each dossier's
// next check on. It returns how many dossiers it took and adds what it
// fired to pass.
func (s *Service) watchBatch(ctx context.Context, tx WatchStore, now time.Time, pass *WatchPass) (int, error) {
	due, err := tx.NextChecksDue(ctx, now, s.opts.WatchBatch)
	if err != nil {
		return 0, err
	}
	late, next, err := s.lateChecks(ctx, tx, due, now)
	if err != nil {
		return 0, err
	}
	claims := make([]Claim, len(late))
	for i, c := range late {
		claims[i] = claimOf(c.d, c.check)
	}
	fresh, err := tx.ClaimChecks(ctx, claims, now)
	if err != nil {
		return 0, err
	}
	var events []domain.Event
	for _, c := range late {
		if !fresh[claimOf(c.d, c.check)] || !c.check.Publishes(now) {
			continue // claimed before, or claimed now and not worth publishing
		}
		events = append(events, c.d.LateEvent(c.check, c.cal, now))
		pass.Fired[c.check.Kind]++
		pass.Lag = max(pass.Lag, now.Sub(c.check.At))
	}
	if err := tx.SetNextCheckAt(ctx, next); err != nil {
		return 0, err
	}
	return len(due), tx.WriteEvents(ctx, events)
}

// lateChecks judges the dossiers due on their agencies' calendars: the
// checks whose time has come and each dossier's next check. A dossier a
// pending recompute job has not reached yet has its deadline moved first
// (catchUp), so it is judged on the calendar in force.
func (s *Service) lateChecks(ctx context.Context, tx WatchStore, due []*domain.Dossier, now time.Time) ([]lateCheck, map[int64]*time.Time, error) {
	pending, err := tx.PendingRecomputes(ctx)
	if err != nil {
		return nil, nil, err
	}
	calendars := map[string]*domain.Calendar{}
	var late []lateCheck
	next := make(map[int64]*time.Time, len(due))
	for _, d := range due {
		cal, ok := calendars[d.AgencyCode]
		if !ok {
			if cal, err = s.calendarIn(ctx, tx, d.AgencyCode); err != nil {
				return nil, nil, err
			}
			calendars[d.AgencyCode] = cal
		}
		read := d.Version
		if ch, moved := catchUp(pending, d, cal, now, s.opts.DueSoonLead); moved {
			if err := tx.UpdateDossier(ctx, d, read, ch); err != nil {
				return nil, nil, err
			}
		}
		checks, at := d.DueChecks(cal, s.opts.DueSoonLead, now)
		next[d.ID] = at
		for _, c := range checks {
			late = append(late, lateCheck{d, cal, c})
		}
	}
	return late, next, nil
}

func claimOf(d *domain.Dossier, c domain.Check) Claim {
	return Claim{DossierID: d.ID, Kind: c.Kind, StepSeq: c.StepSeq, Deadline: c.Deadline.UTC().Truncate(time.Microsecond).UnixMicro()}
}
