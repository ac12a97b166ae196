package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestServeFinishesALeftRecompute: an instance records a day off and stops
// before its recompute job ran; the next instance started on the database
// finishes the job in the background and the dossier's deadline moves.
func TestServeFinishesALeftRecompute(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error"}
	opts := store.Options{DataDir: dir, Logger: storetest.Quiet()}
	if dsn := storetest.PostgresURL(t); dsn != "" {
		env["DATABASE_URL"] = dsn
		opts = store.Options{DatabaseURL: dsn, Logger: storetest.Quiet()}
	}
	base, stop := startServer(t, env)
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	clerk := tokenFor(t, env, "clerk", "000.00.10.H29")
	api := base + "/api/v1"
	for _, s := range []struct {
		path string
		body any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_hours": 4}, "supplement_clock": "pause", "online": "none"}},
	} {
		if status, body := call(t, "PUT", api+s.path, admin, s.body); status/100 != 2 {
			t.Fatalf("%s: %d %s", s.path, status, body)
		}
	}
	status, body := call(t, "POST", api+"/dossiers", clerk, map[string]any{"procedure_code": "2.000635", "channel": "counter",
		"delivery": "counter", "applicant": map[string]any{"name": "Nguyễn Văn An", "id_number": "001090001234"}, "documents": []string{"Đơn"}})
	if status != 201 {
		t.Fatalf("intake: %d %s", status, body)
	}
	var d struct {
		Code  string    `json:"code"`
		DueAt time.Time `json:"due_at"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	stop()

	// The day of the deadline is declared off through an instance that
	// stops before working the job (no inline work, no runner).
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, nil, nil, service.Options{RecomputeInline: -1, Logger: storetest.Quiet()})
	day := domain.DateOf(d.DueAt)
	job, err := svc.PutDay(context.Background(), domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}},
		service.DayCmd{Date: day, Kind: domain.DayHoliday, Name: "Nghỉ"})
	st.Close()
	if err != nil || job.Done() {
		t.Fatalf("day recorded: %+v %v", job, err)
	}

	base, stop = startServer(t, env)
	defer stop()
	api = base + "/api/v1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		var j struct {
			Status        string `json:"status"`
			DossiersMoved int    `json:"dossiers_moved"`
		}
		status, body := call(t, "GET", api+"/calendar/recomputes/"+strconv.FormatInt(job.ID, 10), admin, nil)
		if status != 200 {
			t.Fatalf("progress: %d %s", status, body)
		}
		if err := json.Unmarshal(body, &j); err != nil {
			t.Fatal(err)
		}
		if j.Status == "done" {
			if j.DossiersMoved != 1 {
				t.Fatalf("job done, moved %d", j.DossiersMoved)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job left by the stopped instance is still %s after 30 s", j.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, body = call(t, "GET", api+"/dossiers/"+d.Code, clerk, nil)
	var after struct {
		DueAt time.Time `json:"due_at"`
	}
	if status != 200 || json.Unmarshal(body, &after) != nil || !after.DueAt.After(d.DueAt) {
		t.Fatalf("dossier after the job: %d %s (due before %v)", status, body, d.DueAt)
	}
}
