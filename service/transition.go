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
	if _, _, _, ok := domain.ParseDossierCode(cmd.Code); !ok {
		return nil, domain.NotFoundf("no dossier %q", cmd.Code)
	}
	if cmd.Version <= 0 {
		return nil, fieldError("version", "is required: the version of the dossier you read")
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(tx Tx) error { return s.transition(ctx, tx, actor, cmd, now) })
	if err != nil {
		return nil, err
	}
	s.wake()
	return s.store.Dossier(ctx, cmd.Code)
}

// transition loads the dossier locked, checks the actor's scope and the
// version read, applies the action on the calendar in force (a pending
// recompute's move first, catchUp) and stores the dossier with the change.
func (s *Service) transition(ctx context.Context, tx DossierTx, actor domain.Actor, cmd TransitionCmd, now time.Time) error {
	d, err := tx.DossierForUpdate(ctx, cmd.Code)
	if err != nil {
		return err
	}
	if err := s.canRead(ctx, actor, d); err != nil {
		return err
	}
	if d.Version != cmd.Version {
		return domain.Conflictf(domain.CodeVersionConflict, "the dossier is at version %d, you read version %d", d.Version, cmd.Version)
	}
	cal, err := s.calendarIn(ctx, tx, d.AgencyCode)
	if err != nil {
		return err
	}
	pending, err := tx.PendingRecomputes(ctx)
	if err != nil {
		return err
	}
	caught, _ := catchUp(pending, d, cal, now, s.opts.DueSoonLead)
	ch, err := d.Apply(cmd.Input, actor, now, cal, s.opts.DueSoonLead)
	if err != nil {
		return err
	}
	ch.History = append(caught.History, ch.History...)
	return tx.UpdateDossier(ctx, d, cmd.Version, ch)
}
