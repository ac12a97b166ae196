package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// envOf turns a map into a getenv.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// startServer runs the real binary's serve in-process and returns its base URL.
func startServer(t *testing.T, env map[string]string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, envOf(env), io.Discard, testLog(), ready) }()
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start in 30s")
	}
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop in 30s")
		}
	}
	t.Cleanup(stop)
	return base, stop
}

func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func tokenFor(t *testing.T, env map[string]string, role, agency string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--role", role, "--agency", agency}, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// TestWalkThrough follows the README on the embedded defaults: agency,
// procedure, intake, citizen look-up, and the received CloudEvent in
// JetStream, read back from the stream's files after a graceful stop.
func TestWalkThrough(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error"}
	if dsn := storetest.PostgresURL(t); dsn != "" {
		env["DATABASE_URL"] = dsn
	}
	base, stop := startServer(t, env)
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	clerk := tokenFor(t, env, "clerk", "000.00.10.H29")
	api := base + "/api/v1"
	steps := []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"PUT", "/agencies/000.00.00.H29", admin, map[string]any{"name": "UBND Thành phố Hà Nội"}, 201},
		{"PUT", "/agencies/000.00.10.H29", admin, map[string]any{"name": "Trung tâm PVHCC", "parent_code": "000.00.00.H29"}, 201},
		{"PUT", "/procedures/2.000635", admin, map[string]any{"name": "Cấp bản sao trích lục hộ tịch", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_days": 1}, "supplement_clock": "pause", "online": "partial"}, 201},
	}
	for _, s := range steps {
		if status, body := call(t, s.method, api+s.path, s.token, s.body); status != s.want {
			t.Fatalf("%s %s: %d %s", s.method, s.path, status, body)
		}
	}
	status, body := call(t, "POST", api+"/dossiers", clerk, map[string]any{"procedure_code": "2.000635", "channel": "counter", "delivery": "counter",
		"applicant": map[string]any{"name": "Nguyễn Văn An", "id_number": "001090001234"}, "documents": []string{"Tờ khai"}})
	if status != 201 {
		t.Fatalf("intake: %d %s", status, body)
	}
	var d struct {
		Code      string `json:"code"`
		LookupPIN string `json:"lookup_pin"`
	}
	_ = json.Unmarshal(body, &d)
	if status, body := call(t, "GET", api+"/public/dossiers/"+d.Code+"?pin="+d.LookupPIN, "", nil); status != 200 || bytes.Contains(body, []byte("Nguyễn")) {
		t.Fatalf("look-up: %d %s", status, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/asyncapi.json", "/metrics"} {
		if status, body := call(t, "GET", base+path, "", nil); status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
	}
	// Another process on the same DATA_DIR watches the embedded NATS: the
	// server listens on a loopback port and writes its URL for it.
	u := events.EmbeddedURL(dir)
	if !regexp.MustCompile(`^nats://[0-9a-f]{32}@127\.0\.0\.1:[0-9]+$`).MatchString(u) {
		t.Fatalf("embedded NATS URL %q", u)
	}
	if fi, err := os.Stat(events.EmbeddedURLFile(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("URL file: %v %v, want mode 0600", fi, err)
	}
	// Without the token the listener lets no one in.
	if nc, err := nats.Connect("nats://"+u[strings.Index(u, "@")+1:], nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("the embedded NATS accepted a client without its token")
	}
	var tailed bytes.Buffer
	tctx, tcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer tcancel()
	if err := run(tctx, []string{"events", "tail", "--all", "--type", "received", "-n", "1"},
		envOf(map[string]string{"DATA_DIR": dir, "LOG_LEVEL": "error"}), &tailed, testLog(), nil); err != nil {
		t.Fatalf("events tail on the embedded NATS: %v", err)
	}
	if !strings.Contains(tailed.String(), d.Code) {
		t.Fatalf("events tail printed %q, want %s", tailed.String(), d.Code)
	}
	stop()
	if u := events.EmbeddedURL(dir); u != "" {
		t.Errorf("the URL file outlives the server: %q", u)
	}

	// The stream keeps the event on disk: open the same store again.
	conn, err := events.Connect(context.Background(), events.Options{DataDir: dir, Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := conn.JetStream().OrderedConsumer(ctx, "DOSSIERS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"dossiers.000_00_10_H29.received"}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("no received event in the stream: %v", err)
	}
	ev, err := events.Decode(msg.Data())
	if err != nil {
		t.Fatal(err)
	}
	if ev.Subject() != d.Code || ev.Type() != events.TypePrefix+"received" || msg.Headers().Get("Nats-Msg-Id") != ev.ID() {
		t.Fatalf("event %s", msg.Data())
	}
	if strings.Contains(string(msg.Data()), "Nguyễn") || strings.Contains(string(msg.Data()), "001090001234") {
		t.Fatalf("event carries personal data: %s", msg.Data())
	}
}

func TestBadConfigNamesTheVariable(t *testing.T) {
	cases := map[string]string{
		"HTTP_ADDR":         "nonsense",
		"DATABASE_URL":      "mysql://x",
		"NATS_URL":          "http://x",
		"JWT_SECRET":        "short",
		"JWKS_URL":          "ftp://x",
		"LOG_LEVEL":         "loud",
		"PUBLIC_RATE_LIMIT": "-1",
		"TRUSTED_PROXIES":   "10.0.0.0/99",
		"SHUTDOWN_TIMEOUT":  "soon",
		"NOTIFY_RATE":       "-5",
		"DB_MAX_CONNS":      "0",
	}
	for name, value := range cases {
		err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{name: value, "DATA_DIR": t.TempDir()}), io.Discard, io.Discard, nil)
		if err == nil || !strings.HasPrefix(err.Error(), name+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: error %v, want one line naming the variable", name, value, err)
		}
	}
}

func TestSecretsAreRedactedInTheLog(t *testing.T) {
	cfg := map[string]string{"DATABASE_URL": "postgres://app:hunter2@db:5432/motcua", "JWT_SECRET": "0123456789abcdef0123456789abcdef-secret"}
	c, err := loadConfig(envOf(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, a := range c.logAttrs(envOf(cfg)) {
		buf.WriteString(strings.TrimSpace(func() string { b, _ := json.Marshal(a); return string(b) }()))
	}
	if s := buf.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "-secret") {
		t.Fatalf("secret in the log: %s", s)
	}
}

// testLog shows the server's log when MOTCUA_TEST_LOG is set.
func testLog() io.Writer {
	if os.Getenv("MOTCUA_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

func TestSeedDemo(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "demo"}, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^  000\.00\.10\.H29-\d{6}-\d{4}  \d{8}  (received|new)$`).FindAllString(out.String(), -1)
	if len(lines) != 3 {
		t.Fatalf("seed printed %q", out.String())
	}
	// Seeding twice changes nothing: the same three dossiers, no new version.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"seed", "demo"}, envOf(env), &again, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(again.String(), "demo data already loaded, nothing added") ||
		strings.Join(strings.Split(again.String(), "\n")[1:], "\n") != strings.Join(strings.Split(out.String(), "\n")[1:], "\n") {
		t.Fatalf("second seed printed %q, first %q", again.String(), out.String())
	}
	st, err := store.Open(context.Background(), store.Options{DataDir: env["DATA_DIR"], Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var dossiers, versions int64
	st.DB().Table("dossiers").Count(&dossiers)
	st.DB().Table("procedure_versions").Count(&versions)
	st.Close()
	if dossiers != 3 || versions != 3 {
		t.Fatalf("after two seeds: %d dossiers, %d procedure versions; want 3 and 3", dossiers, versions)
	}

	// A database where someone made the walk-through's unit and procedure
	// their own way: seed demo refuses, names them, and writes nothing.
	other := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	base, stop := startServer(t, map[string]string{"DATA_DIR": other["DATA_DIR"], "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error"})
	admin := tokenFor(t, other, "admin", "000.00.00.H29")
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND Thành phố Hà Nội"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm PVHCC", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Cấp bản sao trích lục hộ tịch", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_days": 1}, "supplement_clock": "pause", "online": "partial"}},
	} {
		if status, body := call(t, "PUT", base+"/api/v1"+c.path, admin, c.body); status != 201 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	stop()
	err = run(context.Background(), []string{"seed", "demo"}, envOf(other), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "agency 000.00.10.H29") || !strings.Contains(err.Error(), "procedure 2.000635") ||
		!strings.Contains(err.Error(), "nothing loaded") {
		t.Fatalf("seed demo over the user's data: %v", err)
	}
	st, err = store.Open(context.Background(), store.Options{DataDir: other["DATA_DIR"], Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.DB().Table("agencies").Count(&dossiers)
	st.DB().Table("procedure_versions").Count(&versions)
	if dossiers != 2 || versions != 1 {
		t.Fatalf("seed demo wrote over the user's data: %d agencies, %d procedure versions", dossiers, versions)
	}
	if err := run(context.Background(), []string{"seed", "nonsense"}, envOf(env), io.Discard, io.Discard, nil); err == nil {
		t.Fatal("unknown seed accepted")
	}
}

// DB_MAX_CONNS caps the instance's pool; unset, the store's default holds.
func TestDBMaxConns(t *testing.T) {
	for _, c := range []struct {
		value string
		want  int
	}{{"", 4}, {"2", 2}, {"12", 12}} {
		cfg, err := loadConfig(envOf(map[string]string{"DB_MAX_CONNS": c.value, "DATA_DIR": t.TempDir()}))
		if err != nil {
			t.Fatal(err)
		}
		st, err := openStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		sqlDB, err := st.DB().DB()
		if err != nil {
			t.Fatal(err)
		}
		if got := sqlDB.Stats().MaxOpenConnections; got != c.want {
			t.Errorf("DB_MAX_CONNS=%q: pool of %d, want %d", c.value, got, c.want)
		}
		st.Close()
	}
}
