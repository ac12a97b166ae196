package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// outboxData returns the data members of a dossier's events of a kind, and
// the events' occurred_at column.
func (e *env) outboxData(code, kind string) ([]map[string]any, []time.Time) {
	e.t.Helper()
	var rows []struct {
		Data       string
		OccurredAt time.Time
	}
	if err := e.st.DB().Table("outbox").Select("data, occurred_at").Where("dossier_code = ? AND type = ?", code, kind).Scan(&rows).Error; err != nil {
		e.t.Fatal(err)
	}
	var data []map[string]any
	var times []time.Time
	for _, r := range rows {
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Data), &m); err != nil {
			e.t.Fatal(err)
		}
		data = append(data, m)
		times = append(times, r.OccurredAt)
	}
	return data, times
}

// TestImportedDossierEvents follows a dossier imported with a reception time
// weeks ago: its received event happened when it was received, its times are
// written in UTC, a deadline already passed gets overdue and never due_soon,
// and the apology's event carries the new appointment.
func TestImportedDossierEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		e.clock.Set(at(2026, 3, 16, 9, 0))
		received := at(2026, 2, 23, 9, 0) // a Monday: three working days, due Thu 26/2 09:00
		body := intakeBody("1.001612", "counter")
		body["agency_code"] = center
		body["received_at"] = received.Format(time.RFC3339)
		var d dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", admin, body), http.StatusCreated).json(t, &d)

		data, times := e.outboxData(d.Code, "received")
		if len(data) != 1 || !times[0].Equal(received) {
			t.Fatalf("received event occurred at %v, want %v", times, received)
		}
		if data[0]["occurred_at"] != "2026-02-23T02:00:00Z" || data[0]["due_at"] != "2026-02-26T02:00:00Z" {
			t.Errorf("received data times %v, %v; want UTC with Z", data[0]["occurred_at"], data[0]["due_at"])
		}

		e.must(e.act(d.Code, admin, at(2026, 3, 16, 9, 5), map[string]any{"action": "transfer"}), http.StatusOK)
		if f := e.watch(at(2026, 3, 16, 9, 10)); f[domain.EventOverdue] != 1 || len(f) != 1 {
			t.Fatalf("the watcher fired %v on a deadline passed weeks ago, want overdue alone", f)
		}
		if f := e.watch(at(2026, 3, 16, 9, 20)); len(f) != 0 {
			t.Fatalf("fired again: %v", f)
		}
		if n := e.lateEvents("due_soon"); n != 0 {
			t.Errorf("%d due_soon events for a deadline already passed", n)
		}

		promised := at(2026, 3, 20, 17, 0)
		e.must(e.act(d.Code, e.token(domain.RoleOfficer, office), at(2026, 3, 16, 10, 0), map[string]any{"action": "extend", "reason": "Chậm",
			"new_due_at": promised.Format(time.RFC3339)}), http.StatusOK)
		data, _ = e.outboxData(d.Code, "extended")
		if len(data) != 1 || data[0]["promised_at"] != "2026-03-20T10:00:00Z" {
			t.Fatalf("extended data %v, want promised_at 2026-03-20T10:00:00Z", data)
		}
		for _, kind := range []string{"received", "transferred", "overdue", "extended"} {
			data, _ := e.outboxData(d.Code, kind)
			for _, m := range data {
				for _, f := range []string{"due_at", "promised_at", "occurred_at"} {
					if s, ok := m[f].(string); ok && !strings.HasSuffix(s, "Z") {
						t.Errorf("%s %s = %s, not in UTC", kind, f, s)
					}
				}
			}
		}
	})
}
