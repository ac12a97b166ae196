package notify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/motcua/motcua/notify"
)

// TestSMSGatewayMisbehaving: a gateway that hangs, redirects, answers
// garbage or is not there gives a retry (or, for a refused message, a
// failure), and no error holds the number.
func TestSMSGatewayMisbehaving(t *testing.T) {
	t.Parallel()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer elsewhere.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name      string
		handler   http.HandlerFunc
		url       string
		permanent bool
		want      string
	}{
		{"accepts", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }, "", false, ""},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) }, "", false, "no answer in time"},
		{"redirects", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/?to=0912345678", http.StatusFound)
		}, "", false, "redirect"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Write([]byte("garbage 0912345678\r\n\r\n"))
			c.Close()
		}, "", false, "sms gateway"},
		{"refuses the message", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad number 0912345678", http.StatusBadRequest)
		}, "", true, "refused"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }, "", false, "502"},
		{"not there", nil, closed.URL, false, "cannot connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				u = srv.URL
			}
			err := notify.NewSMS(u, "tok", 500*time.Millisecond).Send(context.Background(), "0912345678", "7", notify.Message{Text: "x"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || notify.IsPermanent(err) != tc.permanent {
				t.Fatalf("err %v (permanent %v), want %q permanent %v", err, notify.IsPermanent(err), tc.want, tc.permanent)
			}
			if strings.Contains(err.Error(), "912345678") || strings.Contains(err.Error(), "tok") {
				t.Fatalf("error holds personal data or the token: %v", err)
			}
		})
	}
	if err := notify.NewSMS(elsewhere.URL, "", time.Second).Send(context.Background(), "0241234567", "1", notify.Message{}); !notify.IsPermanent(err) {
		t.Fatalf("a landline: %v", err)
	}
}

func TestParseMailConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, from string
		ok        bool
		port      int
		ssl       bool
		user      string
	}{
		{"smtp://mail.example.vn", "motcua@example.vn", true, 587, false, ""},
		{"smtp://u:p%40ss@mail.example.vn:2525", "motcua@example.vn", true, 2525, false, "u"},
		{"smtps://mail.example.vn", "motcua@example.vn", true, 465, true, ""},
		{"http://mail.example.vn", "motcua@example.vn", false, 0, false, ""},
		{"smtp://", "motcua@example.vn", false, 0, false, ""},
		{"smtp://mail.example.vn:99999", "motcua@example.vn", false, 0, false, ""},
		{"smtp://mail.example.vn", "not an address", false, 0, false, ""},
	} {
		c, err := notify.ParseMailConfig(tc.url, tc.from)
		if (err == nil) != tc.ok || (tc.ok && (c.Port != tc.port || c.SSL != tc.ssl || c.Username != tc.user)) {
			t.Errorf("ParseMailConfig(%q, %q) = %+v, %v", tc.url, tc.from, c, err)
		}
	}
	if c, _ := notify.ParseMailConfig("smtp://u:p%40ss@mail.example.vn", "a@example.vn"); c.Password != "p@ss" {
		t.Errorf("password %q", c.Password)
	}
}

// testTLS borrows httptest's certificate for 127.0.0.1: the server's
// config, and a client config that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.StartTLS()
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &tls.Config{Certificates: s.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// TestMailTLS: STARTTLS is used when the server offers it, and smtps://
// speaks TLS from the first byte.
func TestMailTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testTLS(t)
	starttls := newMailServer(t, func(s *smtp.Server) { s.TLSConfig = serverTLS })
	plain := newMailServer(t, nil)
	implicit := &mailServer{}
	s := smtp.NewServer(implicit)
	s.Domain = "localhost"
	l, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	implicit.addr = l.Addr().String()
	for _, tc := range []struct {
		name string
		srv  *mailServer
		ssl  bool
		tls  bool
	}{{"starttls offered", starttls, false, true}, {"not offered", plain, false, false}, {"smtps", implicit, true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			_, p, _ := net.SplitHostPort(tc.srv.addr)
			c, err := notify.ParseMailConfig(map[bool]string{false: "smtp", true: "smtps"}[tc.ssl]+"://127.0.0.1:"+p, "motcua@example.vn")
			if err != nil {
				t.Fatal(err)
			}
			c.TLS, c.Timeout = clientTLS, 5*time.Second
			if err := notify.NewMailer(c).Send(context.Background(), "an@example.vn", "9", notify.Message{Subject: "X - Hồ sơ", Text: "Đã tiếp nhận"}); err != nil {
				t.Fatal(err)
			}
			tc.srv.mu.Lock()
			defer tc.srv.mu.Unlock()
			if len(tc.srv.msgs) != 1 || tc.srv.tls[0] != tc.tls || strings.TrimSpace(tc.srv.msgs[0].Body) != "Đã tiếp nhận" || tc.srv.msgs[0].Subject != "X - Hồ sơ" {
				t.Fatalf("received %+v, tls %v", tc.srv.msgs, tc.srv.tls)
			}
		})
	}
}

// TestMailerKeepsConnection: several e-mails go on one SMTP conversation;
// when the server hangs up, the next e-mail opens a new one and goes; each
// carries the Message-ID of its ref.
func TestMailerKeepsConnection(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t, nil)
	m := notify.NewMailer(notify.MailConfig{Host: "127.0.0.1", Port: srv.port(), From: "motcua@hanoi.gov.vn", Timeout: 5 * time.Second})
	send := func(ref string) {
		t.Helper()
		if err := m.Send(context.Background(), "an@example.vn", ref, notify.Message{Subject: "X", Text: "Đã tiếp nhận"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		send(strconv.Itoa(i + 1))
	}
	if n, s := len(srv.messages()), srv.sessions(); n != 5 || s != 1 {
		t.Fatalf("%d e-mails on %d conversations, want 5 on 1", n, s)
	}
	srv.hangUp()
	send("6")
	msgs := srv.messages()
	if len(msgs) != 6 || srv.sessions() != 2 {
		t.Fatalf("after the server hung up: %d e-mails on %d conversations, want 6 on 2", len(msgs), srv.sessions())
	}
	for i, msg := range msgs {
		if want := fmt.Sprintf("<notification-%d@hanoi.gov.vn>", i+1); msg.header("Message-ID") != want {
			t.Errorf("e-mail %d: Message-ID %q, want %q", i, msg.header("Message-ID"), want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	send("7")
	if srv.sessions() != 3 {
		t.Fatalf("after Close: %d conversations, want 3", srv.sessions())
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	got := notify.Scrub("550 5.1.1 <nguyen.van.an@example.vn>: no such user; call +84 912 345 678 from 127.0.0.1:25")
	if strings.Contains(got, "nguyen.van.an") || strings.Contains(got, "912 345") || !strings.Contains(got, "n***@example.vn") || !strings.Contains(got, "127.0.0.1") {
		t.Fatalf("Scrub: %q", got)
	}
}
