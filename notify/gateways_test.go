package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smsGateway is an HTTP SMS gateway started by the test: it takes
// POST {"to", "text", "ref"} with the bearer token, drops a repeated ref,
// and can be made to answer 503 (down) or slowly.
type smsGateway struct {
	srv *httptest.Server
	mu  sync.Mutex
	// down answers 503; delay waits before answering.
	down  bool
	delay time.Duration
	posts map[string]int // ref -> accepted posts
	sms   []smsMsg       // first delivery of each ref, in order
	seen  int            // every request, down or not
}

type smsMsg struct{ To, Text, Ref string }

func newSMSGateway(t testing.TB) *smsGateway {
	g := &smsGateway{posts: map[string]int{}}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen++
		down, delay := g.down, g.delay
		g.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		if r.Header.Get("Authorization") != "Bearer sms-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var m smsMsg
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Ref == "" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.posts[m.Ref]++
		if g.posts[m.Ref] == 1 {
			g.sms = append(g.sms, m)
		}
		g.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"queued"}`)
	}))
	fakes(g.srv.Start)
	t.Cleanup(g.srv.Close)
	return g
}

// fakes runs start with its goroutines labelled part=fakes (BenchmarkNotify's
// profiles).
func fakes(start func()) {
	pprof.Do(context.Background(), pprof.Labels("part", "fakes"), func(context.Context) { start() })
}

func (g *smsGateway) setDelay(d time.Duration) { g.mu.Lock(); g.delay = d; g.mu.Unlock() }

func (g *smsGateway) setDown(v bool) { g.mu.Lock(); g.down = v; g.mu.Unlock() }

// delivered returns the messages delivered (one per ref) and the most
// posts any ref got.
func (g *smsGateway) delivered() ([]smsMsg, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	most := 0
	for _, n := range g.posts {
		most = max(most, n)
	}
	return append([]smsMsg(nil), g.sms...), most
}

func (g *smsGateway) requests() int { g.mu.Lock(); defer g.mu.Unlock(); return g.seen }

// mailServer is a real SMTP server (go-smtp) on a loopback port; down makes
// it answer 421 to MAIL FROM.
type mailServer struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	down bool
	msgs []mailMsg
	tls  []bool
	// conns are the sessions' connections, one per SMTP conversation.
	conns []net.Conn
}

type mailMsg struct {
	From string
	To   []string
	Data string // as received
	// Header, Subject and Body decoded (RFC 2047 words, quoted-printable).
	Header  mail.Header
	Subject string
	Body    string
}

func (m mailMsg) header(name string) string { return m.Header.Get(name) }

// decode parses the message as a mail client would.
func (m *mailMsg) decode() error {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return err
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	m.Body = string(b)
	return err
}

func newMailServer(t testing.TB, configure func(*smtp.Server)) *mailServer {
	m := &mailServer{}
	s := smtp.NewServer(m)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if configure != nil {
		configure(s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr, m.srv = l.Addr().String(), s
	fakes(func() { go s.Serve(l) })
	t.Cleanup(func() { s.Close() })
	return m
}

func (m *mailServer) port() int {
	_, p, _ := net.SplitHostPort(m.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (m *mailServer) setDown(v bool) { m.mu.Lock(); m.down = v; m.mu.Unlock() }

func (m *mailServer) messages() []mailMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailMsg(nil), m.msgs...)
}

// NewSession implements smtp.Backend.
func (m *mailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	m.mu.Lock()
	m.conns = append(m.conns, c.Conn())
	m.mu.Unlock()
	return &mailSession{m: m, c: c}, nil
}

// sessions is how many SMTP conversations were opened.
func (m *mailServer) sessions() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.conns) }

// hangUp closes every connection, as a server dropping idle clients does.
func (m *mailServer) hangUp() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		c.Close()
	}
}

type mailSession struct {
	m   *mailServer
	c   *smtp.Conn
	cur mailMsg
}

func (s *mailSession) Reset()        { s.cur = mailMsg{} }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.m.mu.Lock()
	down := s.m.down
	s.m.mu.Unlock()
	if down {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available, try later"}
	}
	s.cur.From = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	if err := s.cur.decode(); err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, s.cur)
	_, isTLS := s.c.TLSConnectionState()
	s.m.tls = append(s.m.tls, isTLS)
	s.m.mu.Unlock()
	return nil
}
