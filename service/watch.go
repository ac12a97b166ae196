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
			due, err := tx.NextChecksDue(ctx, now, s.opts.WatchBatch)
			if err != nil {
				return err
			}
			n = len(due)
			pending, err := tx.PendingRecomputes(ctx)
			if err != nil {
				return err
			}
			calendars := map[string]*domain.Calendar{}
			type candidate struct {
				d     *domain.Dossier
				cal   *domain.Calendar
				check domain.Check
			}
			var (
				candidates []candidate
				claims     []Claim
				next       = make(map[int64]*time.Time, len(due))
			)
			for _, d := range due {
				cal, ok := calendars[d.AgencyCode]
				if !ok {
					if cal, err = s.calendarIn(ctx, tx, d.AgencyCode); err != nil {
						return err
					}
					calendars[d.AgencyCode] = cal
				}
				// A recompute job still on its way to this dossier: move its
				// deadline now, so it is judged on the calendar in force.
				if len(pending) > 0 {
					read := d.Version
					if ch, moved := catchUp(pending, d, cal, now); moved {
						d.PlanNextCheck(cal, s.opts.DueSoonLead)
						if err := tx.UpdateDossier(ctx, d, read, ch); err != nil {
							return err
						}
					}
				}
				next[d.ID] = nil
				for _, c := range d.Checks(cal, s.opts.DueSoonLead) {
					if c.At.After(now) {
						if n := next[d.ID]; n == nil || c.At.Before(*n) {
							at := c.At
							next[d.ID] = &at
						}
						continue
					}
					candidates = append(candidates, candidate{d, cal, c})
					claims = append(claims, claimOf(d, c))
				}
			}
			fresh, err := tx.ClaimChecks(ctx, claims, now)
			if err != nil {
				return err
			}
			var events []domain.Event
			for _, c := range candidates {
				if !fresh[claimOf(c.d, c.check)] || !c.check.Publishes(now) {
					continue // claimed before, or claimed now and not worth publishing
				}
				events = append(events, c.d.LateEvent(c.check, c.cal, now))
				pass.Fired[c.check.Kind]++
				if lag := now.Sub(c.check.At); lag > pass.Lag {
					pass.Lag = lag
				}
			}
			if err := tx.SetNextCheckAt(ctx, next); err != nil {
				return err
			}
			return tx.WriteEvents(ctx, events)
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

func claimOf(d *domain.Dossier, c domain.Check) Claim {
	return Claim{DossierID: d.ID, Kind: c.Kind, StepSeq: c.StepSeq, Deadline: c.Deadline.UTC().Truncate(time.Microsecond).UnixMicro()}
}
