package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestDossierShowsPortalState: GET /dossiers/{code} shows where the dossier
// stands with the national portal when the sync is configured, and nothing
// when it is not.
func TestDossierShowsPortalState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		admin := e.token(domain.RoleAdmin, root)
		var plain map[string]any
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code, admin, nil), http.StatusOK).json(t, &plain)
		if _, ok := plain["portal"]; ok {
			t.Errorf("portal shown without the sync: %v", plain["portal"])
		}

		// The same router, with the sync configured.
		e.svc = service.New(st, e.clock, nil, service.Options{Logger: storetest.Quiet(), Portal: st})
		v, _ := auth.NewHS256([]byte(testSecret), auth.Options{})
		e.e = handlers.New(handlers.Config{Service: e.svc, Verifier: v, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(),
			Ready: map[string]func(context.Context) error{"database": st.Ping}})
		type portalDoc struct {
			Portal *struct {
				SyncedAt  *time.Time `json:"synced_at"`
				Pending   bool       `json:"pending"`
				LastError *string    `json:"last_error"`
				Parked    bool       `json:"parked"`
			} `json:"portal"`
		}
		get := func() portalDoc {
			var p portalDoc
			e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code, admin, nil), http.StatusOK).json(t, &p)
			if p.Portal == nil {
				t.Fatal("no portal state")
			}
			return p
		}
		if p := get(); !p.Portal.Pending || p.Portal.SyncedAt != nil || p.Portal.LastError != nil {
			t.Errorf("before the sync saw it: %+v", *p.Portal)
		}
		ctx := context.Background()
		now := time.Now()
		if err := st.PortalMark(ctx, []string{d.Code}, now); err != nil {
			t.Fatal(err)
		}
		claims, err := st.PortalClaim(ctx, now, now.Add(time.Minute), 10)
		if err != nil || len(claims) != 1 {
			t.Fatalf("claim %v %v", claims, err)
		}
		c := claims[0]
		if err := st.PortalAckRecord(ctx, c, "h1", now); err != nil {
			t.Fatal(err)
		}
		if p := get(); !p.Portal.Pending || p.Portal.SyncedAt == nil {
			t.Errorf("record acknowledged, the history line not yet: %+v", *p.Portal)
		}
		if err := st.PortalAckEntry(ctx, c, 1, now); err != nil {
			t.Fatal(err)
		}
		if err := st.PortalRelease(ctx, c, now); err != nil {
			t.Fatal(err)
		}
		if p := get(); p.Portal.Pending || p.Portal.SyncedAt == nil || p.Portal.LastError != nil {
			t.Errorf("synced: %+v", *p.Portal)
		}
		// A change the portal refuses: parked, with its message.
		e.must(e.do(http.MethodPost, "/api/v1/dossiers/"+d.Code+"/transitions", admin, map[string]any{"action": "transfer", "version": d.Version}), http.StatusOK)
		if p := get(); !p.Portal.Pending {
			t.Errorf("a new history line is pending: %+v", *p.Portal)
		}
		later := now.Add(time.Second)
		if err := st.PortalMark(ctx, []string{d.Code}, later); err != nil {
			t.Fatal(err)
		}
		claims, err = st.PortalClaim(ctx, later, later.Add(time.Minute), 10)
		if err != nil || len(claims) != 1 || claims[0].EntriesAcked != 1 || claims[0].RecordHash != "h1" {
			t.Fatalf("claim %+v %v", claims, err)
		}
		if err := st.PortalPark(ctx, claims[0], "refused by the portal (error_code 422): MaTTHC sai", later); err != nil {
			t.Fatal(err)
		}
		if p := get(); !p.Portal.Pending || !p.Portal.Parked || p.Portal.LastError == nil || *p.Portal.LastError == "" {
			t.Errorf("parked: %+v", *p.Portal)
		}
		// A stale claim changes nothing.
		if err := st.PortalAckEntry(ctx, claims[0], 2, later); err != service.ErrPortalClaimLost {
			t.Errorf("ack on a parked dossier: %v", err)
		}
	})
}
