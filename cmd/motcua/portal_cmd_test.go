package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/motcua/motcua/portal/portaltest"
	"github.com/motcua/motcua/store/storetest"
)

func TestPortalSettingsNameTheMissingOne(t *testing.T) {
	full := map[string]string{"DVCQG_URL": "https://dvc.example.gov.vn/api", "DVCQG_USERNAME": "u", "DVCQG_PASSWORD": "p4ss-w0rd-secret", "DVCQG_UNIT": "000.00.00.H29"}
	for _, missing := range []string{"DVCQG_USERNAME", "DVCQG_PASSWORD", "DVCQG_UNIT"} {
		env := map[string]string{"DATA_DIR": t.TempDir()}
		for k, v := range full {
			if k != missing {
				env[k] = v
			}
		}
		err := run(context.Background(), []string{"migrate"}, envOf(env), io.Discard, io.Discard, nil)
		if err == nil || !strings.HasPrefix(err.Error(), missing+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("without %s: %v, want one line naming it", missing, err)
		}
	}
	for name, value := range map[string]string{"DVCQG_URL": "ftp://x", "DVCQG_TIMEOUT": "forever", "DVCQG_WORKERS": "0", "DVCQG_REFUSAL_CODES": "401"} {
		err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{name: value, "DATA_DIR": t.TempDir()}), io.Discard, io.Discard, nil)
		if err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s=%q: %v", name, value, err)
		}
	}
	c, err := loadConfig(envOf(full))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, a := range c.logAttrs(envOf(full)) {
		b, _ := json.Marshal(a)
		buf.Write(b)
	}
	if strings.Contains(buf.String(), "p4ss") {
		t.Errorf("the portal's password in the log: %s", buf.String())
	}
}

// TestServeSyncsWithThePortal: serve with DVCQG_URL sends a dossier to a
// portal, shows it on the dossier, and the portal commands see and resync
// it.
func TestServeSyncsWithThePortal(t *testing.T) {
	fake := portaltest.New("motcua", "p4ss-w0rd", "000.00.00.H29")
	defer fake.Close()
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error",
		"DVCQG_URL": fake.URL(), "DVCQG_USERNAME": "motcua", "DVCQG_PASSWORD": "p4ss-w0rd", "DVCQG_UNIT": "000.00.00.H29"}
	if dsn := storetest.PostgresURL(t); dsn != "" {
		env["DATABASE_URL"] = dsn
	}
	base, stop := startServer(t, env)
	defer stop()
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	api := base + "/api/v1"
	for path, body := range map[string]any{
		"/agencies/000.00.00.H29": map[string]any{"name": "UBND Thành phố"},
	} {
		if status, b := call(t, "PUT", api+path, admin, body); status/100 != 2 {
			t.Fatalf("%s: %d %s", path, status, b)
		}
	}
	if status, b := call(t, "PUT", api+"/procedures/2.000635", admin, map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
		"duration": map[string]any{"working_hours": 4}, "supplement_clock": "pause", "online": "none"}); status/100 != 2 {
		t.Fatalf("procedure: %d %s", status, b)
	}
	status, b := call(t, "POST", api+"/dossiers", admin, map[string]any{"procedure_code": "2.000635", "channel": "counter", "delivery": "counter",
		"agency_code": "000.00.00.H29", "applicant": map[string]any{"name": "Nguyễn Văn An", "id_number": "001090001234"}})
	if status != 201 {
		t.Fatalf("intake: %d %s", status, b)
	}
	var d struct {
		Code   string `json:"code"`
		Portal *struct {
			SyncedAt *time.Time `json:"synced_at"`
			Pending  bool       `json:"pending"`
		} `json:"portal"`
	}
	_ = json.Unmarshal(b, &d)
	synced := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, b := call(t, "GET", api+"/dossiers/"+d.Code, admin, nil)
			_ = json.Unmarshal(b, &d)
			if d.Portal != nil && !d.Portal.Pending && d.Portal.SyncedAt != nil && len(fake.Accepted(d.Code)) == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not synced: %s; %d calls", b, len(fake.Accepted(d.Code)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	synced(2) // the record, then the receive line
	_, metrics := call(t, "GET", base+"/metrics", "", nil)
	if !strings.Contains(string(metrics), `motcua_portal_calls_total{result="ok",service="CapNhatTienDoHoSoMC"} 1`) ||
		!strings.Contains(string(metrics), `motcua_portal_sign_ins_total{result="ok"} 1`) {
		t.Errorf("metrics: %s", metrics)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"portal", "status"}, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending: 0 dossiers") || !strings.Contains(out.String(), "last error: none") {
		t.Errorf("status: %s", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"portal", "resync", d.Code, "000.00.00.H29-260101-9999"}, envOf(env), &out, io.Discard, nil)
	if err == nil || !strings.Contains(out.String(), d.Code+": will be sent again") {
		t.Errorf("resync: %v %s", err, out.String())
	}
	synced(4) // the record again (isUpdating False), then the line again
	calls := fake.Accepted(d.Code)
	if calls[2].Service != "DongBoHoSoMC" || calls[2].IsUpdating != "False" {
		t.Errorf("resync's first call: %+v", calls[2])
	}
}
