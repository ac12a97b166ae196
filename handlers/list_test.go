package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

type listDoc struct {
	Items []struct {
		Code   string `json:"code"`
		Status string `json:"status"`
		Late   bool   `json:"late"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestListDossiersPagesAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		var codes []string
		for i := 0; i < 7; i++ {
			e.clock.Set(at(2026, 3, 16, 8, 0).Add(time.Duration(i) * time.Hour))
			proc := "2.000635"
			if i%2 == 1 {
				proc = "1.001612"
			}
			codes = append(codes, e.intake(intakeBody(proc, "counter")).Code)
		}
		e.clock.Set(at(2026, 3, 17, 15, 0)) // the 4-hour dossiers are overdue by now
		sup := e.token(domain.RoleSupervisor, root)
		var all []string
		cursor := ""
		for page := 0; page < 5; page++ {
			q := url.Values{"limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var doc listDoc
			e.must(e.do(http.MethodGet, "/api/v1/dossiers?"+q.Encode(), sup, nil), http.StatusOK).json(t, &doc)
			for _, it := range doc.Items {
				all = append(all, it.Code)
			}
			if doc.NextCursor == nil {
				break
			}
			cursor = *doc.NextCursor
		}
		if len(all) != 7 || all[0] != codes[6] || all[6] != codes[0] {
			t.Fatalf("pages gave %v, want the 7 codes newest first", all)
		}
		var doc listDoc
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?procedure_code=1.001612", sup, nil), http.StatusOK).json(t, &doc)
		if len(doc.Items) != 3 {
			t.Fatalf("procedure filter gave %d", len(doc.Items))
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?overdue=true", sup, nil), http.StatusOK).json(t, &doc)
		if len(doc.Items) != 4 || !doc.Items[0].Late {
			t.Fatalf("overdue filter gave %+v", doc.Items)
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?received_from=2026-03-17", sup, nil), http.StatusOK).json(t, &doc)
		if len(doc.Items) != 0 {
			t.Fatalf("date filter gave %d", len(doc.Items))
		}
		// A foreign supervisor sees nothing and may not ask for this agency.
		e.must(e.do(http.MethodGet, "/api/v1/dossiers", e.token(domain.RoleSupervisor, foreign), nil), http.StatusOK).json(t, &doc)
		if len(doc.Items) != 0 {
			t.Fatalf("foreign supervisor saw %d", len(doc.Items))
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?agency_code="+center, e.token(domain.RoleSupervisor, foreign), nil), http.StatusForbidden)
		for _, bad := range []string{"status=lost", "limit=0", "limit=9999", "cursor=%21%21", "overdue=maybe", "received_from=2026-13-01", "received_from=2026-03-20&received_to=2026-03-10"} {
			e.must(e.do(http.MethodGet, "/api/v1/dossiers?"+bad, sup, nil), http.StatusUnprocessableEntity).problem(t)
		}
	})
}
