package service

import (
	"context"

	"github.com/motcua/motcua/domain"
)

// HistoryReissuePIN is the action of the history line written when a clerk
// issues a new look-up PIN.
const HistoryReissuePIN = domain.HistoryReissuePIN

// ReceiptView is what the receipt and appointment slip prints (Circular
// 03/2025/TT-VPCP, form 1): the dossier with its applicant, the procedure
// version it was received under, the receiving unit and, when the caller
// knows it, the look-up PIN.
type ReceiptView struct {
	Dossier       *domain.Dossier
	Procedure     domain.Procedure
	AgencyName    string // the receiving one-stop unit
	ParentName    string // the body it belongs to, "" for a root
	LeadAgency    string // the competent agency's name
	PIN           string // "" when the receipt is printed without it
	ReceivingUnit domain.Agency
}

// Receipt returns what the receipt of a dossier prints. The PIN is stored
// hashed, so it is printed only when the caller passes it (the counter that
// was just given it at intake, or by ReissuePIN); a PIN that does not match
// the dossier's is refused rather than printed.
func (s *Service) Receipt(ctx context.Context, actor domain.Actor, code, pin string) (ReceiptView, error) {
	if _, _, _, ok := domain.ParseDossierCode(code); !ok {
		return ReceiptView{}, domain.NotFoundf("no dossier %q", code)
	}
	d, err := s.store.Dossier(ctx, code)
	if err != nil {
		return ReceiptView{}, err
	}
	if err := actor.CanPrint(d); err != nil {
		return ReceiptView{}, err
	}
	if pin != "" {
		// The PIN goes through the look-up's limits, counted for the
		// signed-in person (their sub stands for the address), so the
		// receipt is no oracle for guessing PINs.
		ok := len(pin) == pinDigits
		if ok {
			if _, _, ok, err = s.attempt(ctx, code, pin, "staff:"+actor.Sub); err != nil {
				return ReceiptView{}, err
			}
		}
		if !ok {
			s.log.Warn("wrong PIN on a receipt", "code", code, "sub", actor.Sub)
			return ReceiptView{}, fieldError("pin", "is not the dossier's current look-up PIN")
		}
	}
	return s.receiptView(ctx, d, pin)
}

func (s *Service) receiptView(ctx context.Context, d *domain.Dossier, pin string) (ReceiptView, error) {
	v := ReceiptView{Dossier: d, PIN: pin}
	p, err := s.store.Procedure(ctx, d.ProcedureCode, d.ProcedureVersion)
	if err != nil {
		return ReceiptView{}, err
	}
	v.Procedure = p
	unit, err := s.store.Agency(ctx, d.AgencyCode)
	if err != nil {
		return ReceiptView{}, err
	}
	v.ReceivingUnit, v.AgencyName = unit, unit.Name
	if unit.ParentCode != "" {
		if name, err := s.agencyName(ctx, unit.ParentCode); err == nil {
			v.ParentName = name
		}
	}
	if name, err := s.agencyName(ctx, d.LeadAgencyCode); err == nil {
		v.LeadAgency = name
	}
	return v, nil
}

// ReissuePIN gives a dossier a new look-up PIN for a citizen who lost the
// receipt: the old PIN stops working at once (its hash is replaced), and the
// history records who did it and when, never the PIN. version is the
// version the clerk read (a stale one is a Conflict version_conflict). The
// new PIN is returned once, for the reprinted receipt. The wrong PINs counted
// against the dossier are forgotten: they were guesses of the old PIN.
func (s *Service) ReissuePIN(ctx context.Context, actor domain.Actor, code string, version int) (ReceiptView, error) {
	if _, _, _, ok := domain.ParseDossierCode(code); !ok {
		return ReceiptView{}, domain.NotFoundf("no dossier %q", code)
	}
	if version <= 0 {
		return ReceiptView{}, fieldError("version", "is required: the version of the dossier you read")
	}
	pin, err := newPIN()
	if err != nil {
		return ReceiptView{}, err
	}
	hash, err := s.keys.hashPIN(pin)
	if err != nil {
		return ReceiptView{}, err
	}
	now := s.clock.Now()
	var d *domain.Dossier
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.Dossier(ctx, code); err != nil {
			return err
		}
		if err := actor.CanPrint(d); err != nil {
			return err
		}
		if d.Version != version {
			return domain.Conflictf(domain.CodeVersionConflict, "the dossier is at version %d, you read version %d", d.Version, version)
		}
		if err := tx.UpdateDossier(ctx, d, version, d.ReissuePIN(hash, actor, now)); err != nil {
			return err
		}
		// The citizen with the new PIN must not stay locked out by the old one's failures.
		return tx.ClearPINLock(ctx, d.Code)
	})
	if err != nil {
		return ReceiptView{}, err
	}
	return s.receiptView(ctx, d, pin)
}
