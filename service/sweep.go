package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// systemActor is who the background sweeps act as.
var systemActor = domain.Actor{Sub: "system", Name: "motcua", Roles: []domain.Role{domain.RoleAdmin}}

// StopUnsupplemented stops the dossiers left unsupplemented past the limit
// (docs/domain.md, The clock of a dossier: a dossier left unsupplemented
// for 15 working days may be closed), each in its own transaction with its history line and stopped
// event. It returns how many it stopped.
func (s *Service) StopUnsupplemented(ctx context.Context) (int, error) {
	now := s.clock.Now()
	// A working day is at least a calendar day, so the limit in calendar days
	// is a safe first cut; the calendar decides each case.
	days := s.opts.SupplementLimit / domain.MinutesPerWorkingDay
	codes, err := s.store.AwaitingSupplementSince(ctx, now.Add(-time.Duration(days)*24*time.Hour), 500)
	if err != nil {
		return 0, err
	}
	stopped := 0
	for _, code := range codes {
		err := s.store.InTx(ctx, func(tx Tx) error {
			ok, err := s.stopUnsupplemented(ctx, tx, code, now)
			if ok {
				stopped++
			}
			return err
		})
		if err != nil && domain.KindOf(err) != domain.Conflict {
			return stopped, err
		}
	}
	if stopped > 0 {
		s.wake()
	}
	return stopped, nil
}

// stopUnsupplemented stops one dossier if its supplement request expired at
// now, and reports whether it did.
func (s *Service) stopUnsupplemented(ctx context.Context, tx DossierTx, code string, now time.Time) (bool, error) {
	d, err := tx.Dossier(ctx, code)
	if err != nil {
		return false, err
	}
	cal, err := s.calendarIn(ctx, tx, d.AgencyCode)
	if err != nil {
		return false, err
	}
	read := d.Version
	ch, ok, err := d.StopUnsupplemented(cal, now, s.opts.SupplementLimit, systemActor, s.opts.DueSoonLead)
	if err != nil || !ok {
		return false, err
	}
	return true, tx.UpdateDossier(ctx, d, read, ch)
}
