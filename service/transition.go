package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// TransitionCmd is one action on a dossier, naming the version the client read.
type TransitionCmd struct {
	Code    string
	Version int
	Input   domain.TransitionInput
}

// Transition applies an action to a dossier in one transaction: the dossier,
// its history line and its events are written together or not at all. A
// stale version is a Conflict version_conflict.
func (s *Service) Transition(ctx context.Context, actor domain.Actor, cmd TransitionCmd) (*domain.Dossier, error) {
	defer s.command()()
	if _, _, _, ok := domain.ParseDossierCode(cmd.Code); !ok {
		return nil, domain.NotFoundf("no dossier %q", cmd.Code)
	}
	if cmd.Version <= 0 {
		return nil, fieldError("version", "is required: the version of the dossier you read")
	}
	now := s.clock.Now()
	var out *domain.Dossier
	err := s.store.InTx(ctx, func(tx Tx) error {
		d, err := s.transition(ctx, tx, actor, cmd, now)
		if err != nil {
			return err
		}
		// The answer is the state committed, built from what the
		// transaction wrote rather than read again after the commit
		// (docs/benchmarks.md, "Fewer statements per transition").
		out, err = tx.DossierWritten(ctx, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return out, nil
}

// transition loads the dossier locked, checks the actor's scope and the
// version read, applies the action on the calendar in force (a pending
// recompute's move first, catchUp) and stores the dossier with the change.
func (s *Service) transition(ctx context.Context, tx DossierTx, actor domain.Actor, cmd TransitionCmd, now time.Time) (*domain.Dossier, error) {
	d, err := tx.DossierForUpdate(ctx, cmd.Code)
	if err != nil {
		return nil, err
	}
	if err := s.canRead(ctx, actor, d); err != nil {
		return nil, err
	}
	if d.Version != cmd.Version {
		return nil, domain.Conflictf(domain.CodeVersionConflict, "the dossier is at version %d, you read version %d", d.Version, cmd.Version)
	}
	v, err := tx.CatalogueVersionShared(ctx)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendarAt(ctx, tx, d.AgencyCode, v)
	if err != nil {
		return nil, err
	}
	pending, err := s.pendingAt(ctx, tx, v)
	if err != nil {
		return nil, err
	}
	caught, _ := catchUp(pending, d, cal, now, s.opts.DueSoonLead)
	ch, err := d.Apply(cmd.Input, actor, now, cal, s.opts.DueSoonLead)
	if err != nil {
		return nil, err
	}
	ch.History = append(caught.History, ch.History...)
	return d, tx.UpdateDossier(ctx, d, cmd.Version, ch)
}

// pendingAt lists the unfinished recompute jobs in a transaction that holds
// catalogue version v (calendarIn). A job is only created with a calendar
// change, which moves the version on (SaveCalendarDay, DeleteCalendarDay), so
// a version once seen with none pending has none for good: the read is
// skipped then, one statement fewer per command.
func (s *Service) pendingAt(ctx context.Context, tx DossierTx, v int64) ([]Recompute, error) {
	if s.idleAt.Load() == v+1 {
		return nil, nil
	}
	pending, err := tx.PendingRecomputes(ctx)
	if err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		s.idleAt.Store(v + 1)
	}
	return pending, nil
}
