package service

import (
	"context"
	"strconv"
	"time"

	"github.com/motcua/motcua/domain"
)

// PutAgency creates or updates an agency (admin only).
func (s *Service) PutAgency(ctx context.Context, actor domain.Actor, a domain.Agency) (domain.Agency, error) {
	if !actor.IsAdmin() {
		return domain.Agency{}, domain.Forbiddenf("only an administrator may change agencies")
	}
	if err := a.Validate(); err != nil {
		return domain.Agency{}, err
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(tx Tx) error { return saveAgency(ctx, tx, &a, now) })
	if err != nil {
		return domain.Agency{}, err
	}
	return a, nil
}

// saveAgency creates or updates a checked agency whose parent, if any, is
// known.
func saveAgency(ctx context.Context, tx CatalogueTx, a *domain.Agency, now time.Time) error {
	old, err := tx.Agency(ctx, a.Code)
	switch {
	case err == nil:
		a.CreatedAt = old.CreatedAt
	case domain.KindOf(err) == domain.NotFound:
		a.CreatedAt = now
	default:
		return err
	}
	if a.ParentCode != "" {
		if _, err := tx.Agency(ctx, a.ParentCode); err != nil {
			if domain.KindOf(err) == domain.NotFound {
				return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "unknown parent agency",
					Fields: []domain.FieldError{{Field: "parent_code", Message: "no agency has this code"}}}
			}
			return err
		}
	}
	a.UpdatedAt = now
	return tx.SaveAgency(ctx, *a)
}

// Agency returns one agency.
func (s *Service) Agency(ctx context.Context, code string) (domain.Agency, error) {
	if !domain.ValidAgencyCode(code) {
		return domain.Agency{}, domain.NotFoundf("no agency %q", code)
	}
	return s.store.Agency(ctx, code)
}

// Agencies lists the agencies.
func (s *Service) Agencies(ctx context.Context) ([]domain.Agency, error) {
	return s.store.Agencies(ctx)
}

// PutProcedure saves a procedure; a change of terms makes a new version, the
// same terms again change nothing (admin only).
func (s *Service) PutProcedure(ctx context.Context, actor domain.Actor, p domain.Procedure) (domain.Procedure, bool, error) {
	if !actor.IsAdmin() {
		return domain.Procedure{}, false, domain.Forbiddenf("only an administrator may change procedures")
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return domain.Procedure{}, false, err
	}
	created := false
	err := s.store.InTx(ctx, func(tx Tx) error {
		agencies := []string{p.AgencyCode}
		for _, st := range p.Steps {
			agencies = append(agencies, st.AgencyCode)
		}
		var f domain.Fields
		for i, code := range agencies {
			if _, err := tx.Agency(ctx, code); err != nil {
				if domain.KindOf(err) != domain.NotFound {
					return err
				}
				field := "agency_code"
				if i > 0 {
					field = "steps[" + strconv.Itoa(i-1) + "].agency_code"
				}
				f.Add(field, "no agency has the code %s", code)
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		old, err := tx.Procedure(ctx, p.Code, 0)
		switch {
		case err == nil:
			if old.SameTerms(p) {
				p = old
				return nil
			}
			p.Version = old.Version + 1
		case domain.KindOf(err) == domain.NotFound:
			p.Version = 1
		default:
			return err
		}
		created = true
		p.CreatedAt = s.clock.Now()
		return tx.SaveProcedure(ctx, p)
	})
	if err != nil {
		return domain.Procedure{}, false, err
	}
	return p, created, nil
}

// Procedure returns the current version of a procedure, or the version asked for.
func (s *Service) Procedure(ctx context.Context, code string, version int) (domain.Procedure, error) {
	if !domain.ValidProcedureCode(code) {
		return domain.Procedure{}, domain.NotFoundf("no procedure %q", code)
	}
	return s.store.Procedure(ctx, code, version)
}

// Procedures lists the current versions.
func (s *Service) Procedures(ctx context.Context) ([]domain.Procedure, error) {
	return s.store.Procedures(ctx)
}
