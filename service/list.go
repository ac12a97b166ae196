package service

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
)

// ListQuery is a staff list request; the cursor is opaque to clients.
type ListQuery struct {
	Status        string
	AgencyCode    string
	ProcedureCode string
	Overdue       bool
	ReceivedFrom  *domain.Date
	ReceivedTo    *domain.Date // inclusive day
	Limit         int
	Cursor        string
	// Late narrows to the dossiers behind a lateness report count.
	Late *LateQuery
}

// ListDossiers lists the dossiers the actor may see, the same ones a GET of
// each would answer (domain.Actor.DossierScope): administrators all;
// supervisors those their agency's subtree is involved in; clerks and
// officers those their unit is involved in. Keyset-paginated, newest
// received first.
func (s *Service) ListDossiers(ctx context.Context, actor domain.Actor, q ListQuery) ([]*domain.Dossier, string, error) {
	filter, err := listFilter(q)
	if err != nil {
		return nil, "", err
	}
	if q.Overdue {
		now := s.clock.Now()
		filter.OverdueAt = &now
	}
	scope, err := s.DossierScope(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	if err := lateInScope(filter.Late, scope); err != nil {
		return nil, "", err
	}
	switch {
	case q.AgencyCode != "":
		if !scope.Has(q.AgencyCode) {
			return nil, "", domain.Forbiddenf("agency %s is not yours to see", q.AgencyCode)
		}
		filter.AgencyCodes = []string{q.AgencyCode}
	case !scope.All:
		filter.AgencyCodes = scope.Agencies
	}
	items, err := s.store.ListDossiers(ctx, filter)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) == filter.Limit {
		last := items[len(items)-1]
		next = encodeCursor(DossierCursor{ReceivedAt: last.ReceivedAt, ID: last.ID})
	}
	return items, next, nil
}

// listFilter checks a list request and builds its filter (without the
// actor's agencies and the overdue instant); every field wrong is named.
func listFilter(q ListQuery) (DossierFilter, error) {
	var f domain.Fields
	filter := DossierFilter{Limit: q.Limit, ProcedureCode: q.ProcedureCode}
	if filter.Limit == 0 {
		filter.Limit = 50
	}
	if filter.Limit < 1 || filter.Limit > 500 {
		f.Add("limit", "must be from 1 to 500")
	}
	if q.Status != "" {
		st, ok := domain.ParseStatus(q.Status)
		if !ok {
			f.Add("status", "is not a status name")
		}
		filter.Status = st
	}
	if q.ProcedureCode != "" && !domain.ValidProcedureCode(q.ProcedureCode) {
		f.Add("procedure_code", "is not a procedure code")
	}
	if q.AgencyCode != "" && !domain.ValidAgencyCode(q.AgencyCode) {
		f.Add("agency_code", "is not an agency code")
	}
	filter.ReceivedFrom, filter.ReceivedTo = receivedRange(&f, q.ReceivedFrom, q.ReceivedTo)
	if q.Cursor != "" {
		c, ok := decodeCursor(q.Cursor)
		if !ok {
			f.Add("cursor", "is not a cursor this service gave")
		}
		filter.After = &c
	}
	filter.Late = lateFilter(q.Late, &f)
	return filter, f.Err()
}

// receivedRange is the instants of a list's reception days: from the start
// of the first, to the start of the day after the last.
func receivedRange(f *domain.Fields, from, to *domain.Date) (*time.Time, *time.Time) {
	var start, end *time.Time
	if from != nil {
		t := from.Time()
		start = &t
	}
	if to != nil {
		t := to.AddDays(1).Time()
		end = &t
	}
	if start != nil && end != nil && !start.Before(*end) {
		f.Add("received_from", "must not be after received_to")
	}
	return start, end
}

func encodeCursor(c DossierCursor) string {
	raw := strconv.FormatInt(c.ReceivedAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (DossierCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return DossierCursor{}, false
	}
	micro, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return DossierCursor{}, false
	}
	m, err1 := strconv.ParseInt(micro, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return DossierCursor{}, false
	}
	return DossierCursor{ReceivedAt: time.UnixMicro(m).UTC(), ID: n}, true
}
