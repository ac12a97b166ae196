package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/motcua/motcua/domain"
)

// Sender sends one message to one recipient; ref names the message (the
// notification's id), so a gateway can drop a repeat.
type Sender interface {
	Send(ctx context.Context, to, ref string, m Message) error
}

// permanentError is a failure that trying again will not mend.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as a failure not worth retrying.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// SMS sends through the gateway's HTTP call: POST {url} with
// {"to", "text", "ref"} and the token as a bearer; a 2xx answer means
// accepted, and a repeated ref is a repeat the gateway drops.
type SMS struct {
	url, token string
	client     *http.Client
}

// NewSMS makes the SMS sender; it waits at most timeout for an answer and
// never follows a redirect (a gateway answering elsewhere is a failure).
func NewSMS(gatewayURL, token string, timeout time.Duration) *SMS {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	return &SMS{url: gatewayURL, token: token, client: &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Send sends one SMS to a Vietnamese mobile number, written +84... to the
// gateway.
func (s *SMS) Send(ctx context.Context, to, ref string, m Message) error {
	phone, ok := domain.NormalizeMobile(to)
	if !ok {
		return Permanent(errors.New("sms: the applicant's phone is not a Vietnamese mobile number"))
	}
	body, _ := json.Marshal(map[string]string{"to": "+84" + phone[1:], "text": m.Text, "ref": ref})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("sms gateway: %s", netReason(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms gateway: %s", netReason(err))
	}
	// The answer's body is not read for meaning (nor logged: it may echo
	// the number); it is drained so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch c := res.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 300 && c < 400:
		return fmt.Errorf("sms gateway: answered a redirect (%d), not followed", c)
	case c == http.StatusBadRequest || c == http.StatusUnprocessableEntity:
		return Permanent(fmt.Errorf("sms gateway: refused the message (%d)", c))
	default:
		return fmt.Errorf("sms gateway: answered %d", c)
	}
}

// netReason says why a request failed without the URL (which may hold a
// token) or anything personal.
func netReason(err error) string {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "stopped"
	case errors.As(err, &op):
		return "cannot connect (" + op.Op + ")"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "request failed (" + ue.Op + ")"
	}
	return "request failed"
}

// MailConfig is how to reach the mail server: SMTP_URL and SMTP_FROM.
type MailConfig struct {
	Host     string
	Port     int
	SSL      bool // smtps://: implicit TLS; smtp://: STARTTLS when offered
	Username string
	Password string
	From     string
	// TLS, when set, verifies the server (tests trust their own CA).
	TLS     *tls.Config
	Timeout time.Duration
}

// ParseMailConfig reads smtp://user:pass@host:port (STARTTLS when the server
// offers it, port 587 by default) or smtps://... (implicit TLS, port 465)
// and the sender's address.
func ParseMailConfig(smtpURL, from string) (MailConfig, error) {
	c, err := ParseSMTPURL(smtpURL)
	if err != nil {
		return MailConfig{}, err
	}
	if !domain.ValidEmail(from) {
		return MailConfig{}, errors.New("SMTP_FROM must be an e-mail address such as motcua@example.gov.vn")
	}
	c.From = from
	return c, nil
}

// ParseSMTPURL reads the server part of the mail configuration (SMTP_URL).
func ParseSMTPURL(smtpURL string) (MailConfig, error) {
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Path != "" && u.Path != "/" {
		return MailConfig{}, errors.New("must be smtp://[user:pass@]host[:port] or smtps://...")
	}
	c := MailConfig{Host: u.Hostname(), SSL: u.Scheme == "smtps", Port: 587, Timeout: 30 * time.Second}
	if c.SSL {
		c.Port = 465
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return MailConfig{}, errors.New("the port must be from 1 to 65535")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// Mailer sends e-mail over SMTP with go-mail: plain text in UTF-8
// (quoted-printable), a Message-ID made from the ref so a repeat is
// recognisable, STARTTLS when offered (or implicit TLS). It keeps the
// connections it opened and sends the next messages on them (RSET between
// messages), so a busy notifier does not pay a TCP and TLS handshake per
// e-mail: at most maxIdleConns idle, each closed after mailIdle unused or
// mailPerConn messages.
type Mailer struct {
	cfg  MailConfig
	host string // for the Message-ID

	mu     sync.Mutex
	client *mail.Client // the settings; nil until the first send
	idle   []idleConn   // connections ready for a message, newest last
	reaper *time.Timer  // closes connections idle too long
}

type idleConn struct {
	c     *smtp.Client
	since time.Time
	sent  int
}

const (
	maxIdleConns = 64
	mailIdle     = 30 * time.Second // below the usual server timeout (RFC 5321, 4.5.3.2: 5 minutes)
	mailPerConn  = 100              // servers limit the messages of a session
)

// NewMailer makes the e-mail sender.
func NewMailer(cfg MailConfig) *Mailer {
	_, host, _ := strings.Cut(cfg.From, "@")
	return &Mailer{cfg: cfg, host: host}
}

// MessageID is the Message-ID of the e-mail for the notification ref:
// the same for every attempt, so a mail client shows a repeat once.
func (m *Mailer) MessageID(ref string) string { return "notification-" + ref + "@" + m.host }

// Send sends one e-mail.
func (m *Mailer) Send(ctx context.Context, to, ref string, msg Message) error {
	if !domain.ValidEmail(to) {
		return Permanent(errors.New("e-mail: the applicant's address does not parse"))
	}
	mm := mail.NewMsg()
	if err := mm.From(m.cfg.From); err != nil {
		return Permanent(errors.New("e-mail: SMTP_FROM does not parse"))
	}
	if err := mm.To(to); err != nil {
		return Permanent(errors.New("e-mail: the applicant's address does not parse"))
	}
	mm.Subject(msg.Subject)
	mm.SetMessageIDWithValue(m.MessageID(ref))
	mm.SetDate()
	mm.SetBodyString(mail.TypeTextPlain, msg.Text)
	c, err := m.settings()
	if err != nil {
		return Permanent(fmt.Errorf("e-mail: %s", Scrub(err.Error())))
	}
	conn, sent := m.take()
	if conn != nil {
		err = c.SendWithSMTPClient(conn, mm)
		var se *mail.SendError
		if errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
			// The kept connection died (NOOP failed) before anything was
			// sent: a new one is dialled below.
			_ = conn.Close()
			conn, err = nil, nil
		}
	}
	if conn == nil {
		if conn, err = c.DialToSMTPClientWithContext(ctx); err != nil {
			return fmt.Errorf("e-mail: %s", Scrub(err.Error()))
		}
		sent = 0
		err = c.SendWithSMTPClient(conn, mm)
	}
	if err != nil {
		_ = conn.Close()
		var se *mail.SendError
		if errors.As(err, &se) && se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() {
			return Permanent(fmt.Errorf("e-mail: the server refused the recipient (%d)", se.ErrorCode()))
		}
		return fmt.Errorf("e-mail: %s", Scrub(err.Error()))
	}
	m.put(conn, sent+1)
	return nil
}

// settings returns the go-mail client holding the settings (it dials the
// connections), made on the first send.
func (m *Mailer) settings() (*mail.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.client != nil {
		return m.client, nil
	}
	opts := []mail.Option{mail.WithPort(m.cfg.Port), mail.WithTimeout(m.cfg.Timeout), mail.WithHELO(helo())}
	if m.cfg.SSL {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if m.cfg.TLS != nil {
		opts = append(opts, mail.WithTLSConfig(m.cfg.TLS))
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	c, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	m.client = c
	return c, nil
}

// take returns the newest idle connection not idle too long, with the
// messages it carried, or nil.
func (m *Mailer) take() (*smtp.Client, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.idle) > 0 {
		ic := m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		if time.Since(ic.since) < mailIdle {
			return ic.c, ic.sent
		}
		go quit(ic.c)
	}
	return nil, 0
}

// put keeps a connection for the next message, or closes it.
func (m *Mailer) put(c *smtp.Client, sent int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sent >= mailPerConn || len(m.idle) >= maxIdleConns {
		go quit(c)
		return
	}
	m.idle = append(m.idle, idleConn{c: c, since: time.Now(), sent: sent})
	if m.reaper == nil {
		m.reaper = time.AfterFunc(mailIdle, m.reap)
	}
}

// reap closes the connections idle for mailIdle.
func (m *Mailer) reap() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reaper = nil
	keep := m.idle[:0]
	for _, ic := range m.idle {
		if time.Since(ic.since) < mailIdle {
			keep = append(keep, ic)
		} else {
			go quit(ic.c)
		}
	}
	m.idle = keep
	if len(m.idle) > 0 {
		m.reaper = time.AfterFunc(mailIdle, m.reap)
	}
}

// quit says goodbye to the server and closes the connection.
func quit(c *smtp.Client) {
	_ = c.Quit()
	_ = c.Close()
}

// Close closes the idle connections (QUIT); a later Send opens new ones.
func (m *Mailer) Close() error {
	m.mu.Lock()
	idle := m.idle
	m.idle = nil
	m.mu.Unlock()
	for _, ic := range idle {
		quit(ic.c)
	}
	return nil
}

func helo() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

var (
	emailRe = regexp.MustCompile(`[^\s<>"'(),;:@]+@[^\s<>"'(),;:]+`)
	phoneRe = regexp.MustCompile(`\+?\d(?:[ .-]?\d){8,}`)
)

// Scrub masks e-mail addresses and phone-like numbers in a text (an
// error from a server may quote the recipient), so no log line or stored
// error holds them.
func Scrub(s string) string {
	s = emailRe.ReplaceAllStringFunc(s, domain.MaskEmail)
	return phoneRe.ReplaceAllString(s, "***")
}
