package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

// TestClientGoneIs499: a client that disconnects while its request reads
// the database is counted as 499 and logged at debug level, never as an
// ERROR with status 500, on the API and on a page.
func TestClientGoneIs499(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("1.001612", "counter"))
		logs := &logBuffer{}
		reg := prometheus.NewRegistry()
		v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		router := handlers.New(handlers.Config{Service: e.svc, Verifier: v, Registry: reg, Logger: log,
			Pages: pages(t, web.Config{Service: e.svc, Verifier: v, Logger: log})})
		for _, path := range []string{"/api/v1/dossiers?limit=10", "/api/v1/dossiers/" + d.Code, "/tra-cuu?ma=" + d.Code + "&pin=" + d.LookupPIN} {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the client has gone before the handler reads anything
			req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
			req.Header.Set("Authorization", "Bearer "+e.token(domain.RoleSupervisor, root))
			router.ServeHTTP(httptest.NewRecorder(), req)
		}
		_, values := series(t, reg)
		if values["status=500"] {
			t.Errorf("a 500 was counted: %v", values)
		}
		if !values["status=499"] {
			t.Errorf("no 499 counted: %v", values)
		}
		out := logs.String()
		if strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, `"status":500`) {
			t.Errorf("logged as a server error:\n%s", out)
		}
		if got := strings.Count(out, `"msg":"client went away"`); got != 3 {
			t.Errorf("%d 'client went away' lines, want 3:\n%s", got, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, `"status":499`) && !strings.Contains(line, `"level":"DEBUG"`) {
				t.Errorf("499 not at debug level: %s", line)
			}
		}
	})
}
