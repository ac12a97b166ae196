package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/motcua/motcua/store/storetest"
)

func TestMailPasswordRedacted(t *testing.T) {
	env := map[string]string{"SMTP_URL": "smtp://motcua:hunter2@mail.example.vn", "SMTP_FROM": "motcua@example.vn", "SMS_URL": "https://sms.example.vn", "SMS_TOKEN": "tok-secret"}
	c, err := loadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c.logAttrs(envOf(env)))
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "tok-secret") {
		t.Fatalf("secret in the log: %s", b)
	}
}

func TestNotifySettingsNeedTheirPartner(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"SMTP_URL": "smtp://mail.example.vn:587"}, "SMTP_FROM"},
		{map[string]string{"SMTP_FROM": "motcua@example.vn"}, "SMTP_FROM"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.vn", "SMTP_FROM": "not an address"}, "SMTP_FROM"},
		{map[string]string{"SMTP_URL": "http://mail.example.vn", "SMTP_FROM": "motcua@example.vn"}, "SMTP_URL"},
		{map[string]string{"SMS_TOKEN": "secret"}, "SMS_TOKEN"},
		{map[string]string{"SMS_URL": "ftp://sms"}, "SMS_URL"},
	} {
		tc.env["DATA_DIR"] = t.TempDir()
		err := run(context.Background(), nil, envOf(tc.env), io.Discard, io.Discard, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.name+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line naming %s", tc.env, err, tc.name)
		}
	}
	if err := run(context.Background(), []string{"notify"}, envOf(map[string]string{"DATA_DIR": t.TempDir()}), io.Discard, io.Discard, nil); err == nil ||
		!strings.Contains(err.Error(), "no channel configured") {
		t.Errorf("notify without a channel: %v", err)
	}
}

// smtpSink is an SMTP server on a loopback port that keeps the envelopes.
type smtpSink struct {
	mu  sync.Mutex
	rcp []string
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *smtpSink }

func (x *sinkSession) Reset()                               {}
func (x *sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.rcp = append(x.s.rcp, to)
	return nil
}

// TestServeTellsApplicants: with SMTP_URL, SMTP_FROM and SMS_URL set, serve
// tells the applicant who asked for it at intake, and `motcua notify status`
// shows it.
func TestServeTellsApplicants(t *testing.T) {
	var mu sync.Mutex
	var texts []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ To, Text, Ref string }
		if r.Header.Get("Authorization") != "Bearer gw-token" || json.NewDecoder(r.Body).Decode(&m) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		texts = append(texts, m.Text)
		mu.Unlock()
	}))
	defer gw.Close()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	var logs bytes.Buffer
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "info",
		"SMTP_URL": "smtp://" + l.Addr().String(), "SMTP_FROM": "motcua@hanoi.gov.vn",
		"SMS_URL": gw.URL + "/send", "SMS_TOKEN": "gw-token"}
	if dsn := storetest.PostgresURL(t); dsn != "" {
		env["DATABASE_URL"] = dsn
	}
	if err := run(context.Background(), []string{"seed", "demo"}, envOf(env), io.Discard, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logMu sync.Mutex
	go func() {
		done <- run(ctx, nil, envOf(env), io.Discard, writerFunc(func(p []byte) (int, error) {
			logMu.Lock()
			defer logMu.Unlock()
			return logs.Write(p)
		}), ready)
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	clerk := tokenFor(t, env, "clerk", "000.00.10.H29")
	status, body := call(t, http.MethodPost, base+"/api/v1/dossiers", clerk, map[string]any{"procedure_code": "1.001612", "channel": "counter",
		"applicant": map[string]any{"name": "Trần Thị Bình", "id_number": "001190009999", "phone": "0987654321", "email": "binh@example.vn"},
		"notify":    []string{"sms", "email"}})
	if status != http.StatusCreated {
		t.Fatalf("intake %d %s", status, body)
	}
	var d struct {
		Code string `json:"code"`
	}
	json.Unmarshal(body, &d)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(texts)
		mu.Unlock()
		sink.mu.Lock()
		m := len(sink.rcp)
		sink.mu.Unlock()
		if n == 1 && m == 1 {
			break
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			t.Fatalf("after 30s: %d SMS, %d e-mails\n%s", n, m, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(texts[0], d.Code+": ") || sink.rcp[0] != "binh@example.vn" {
		t.Fatalf("SMS %q, e-mail to %v", texts[0], sink.rcp)
	}
	var rows struct {
		Notifications []struct {
			Channel, To, Status string
		} `json:"notifications"`
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, body = call(t, http.MethodGet, base+"/api/v1/dossiers/"+d.Code, clerk, nil)
		json.Unmarshal(body, &rows)
		if len(rows.Notifications) == 2 && rows.Notifications[0].Status == "sent" && rows.Notifications[1].Status == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"notify", "status"}, envOf(env), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sms      0        1     0", "email    0        1     0", "nothing pending"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, never := range []string{"gw-token", "0987654321", "binh@example.vn"} {
		if strings.Contains(logs.String(), never) {
			t.Errorf("the log holds %q", never)
		}
	}
	if !strings.Contains(logs.String(), "telling applicants") {
		t.Error("the notifier did not start inside serve")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
