package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The portal's services.
const (
	ServiceRecord   = "DongBoHoSoMC"
	ServiceProgress = "CapNhatTienDoHoSoMC"
)

// codeSessionExpired is the error_code of an expired session.
const codeSessionExpired = 401

// DefaultRefusalCodes are the error_code values taken as a refusal of the
// content (the dossier is parked, not retried). The protocol names only 0
// (accepted) and 401 (session expired); set DVCQG_REFUSAL_CODES to the codes
// your portal answers for data it rejects.
var DefaultRefusalCodes = []int{400, 422}

// Config says where the portal is and who we are.
type Config struct {
	URL      string // DVCQG_URL
	Username string // DVCQG_USERNAME
	Password string // DVCQG_PASSWORD (never logged)
	Unit     string // DVCQG_UNIT: the province's or ministry's unit code
	// Timeout bounds one HTTP exchange; default 20s.
	Timeout time.Duration
	// RefusalCodes are the error_code values meaning "content refused";
	// nil = DefaultRefusalCodes.
	RefusalCodes []int
	// Transport is for tests; nil = a transport of its own.
	Transport http.RoundTripper
	// OnSignIn and OnCall, when set, are told each sign-in's and call's
	// result (for the metrics).
	OnSignIn func(result string)
	OnCall   func(service, result string)
}

// ErrorKind says what the sync does after a failed call.
type ErrorKind int

// Error kinds.
const (
	// Unavailable: no usable answer (network, time-out, HTTP error, not
	// JSON, a redirect elsewhere, sign-in refused): the portal is treated
	// as away, every dossier waits.
	Unavailable ErrorKind = iota
	// Failed: the portal answered an error_code it does not define as a
	// refusal: this dossier is tried again later with back-off.
	Failed
	// Refused: the portal refused the content: the dossier is parked.
	Refused
)

// Error is a call that did not succeed. Its text carries no personal data
// and no secret: the portal's message is cut short, with digit runs and
// e-mail addresses masked.
type Error struct {
	Kind    ErrorKind
	Code    int    // the portal's error_code, where it answered one
	Status  int    // the HTTP status, where there was one
	Message string // masked
	Result  string // the metrics' result label
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Kind {
	case Refused:
		b.WriteString("refused by the portal")
	case Failed:
		b.WriteString("the portal answered an error")
	default:
		b.WriteString("portal unavailable")
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (error_code %d)", e.Code)
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// KindOf is the kind of a call's error (Unavailable for anything that is
// not an *Error).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Unavailable
}

// Client calls the portal: it signs in once, keeps the session, and signs
// in again when the portal says the session expired. Safe for concurrent
// use.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	refusal []int

	mu      sync.Mutex
	session string
}

// NewClient checks the configuration and makes a client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("portal: DVCQG_URL must be an http(s) URL")
	}
	for name, v := range map[string]string{"DVCQG_USERNAME": cfg.Username, "DVCQG_PASSWORD": cfg.Password, "DVCQG_UNIT": cfg.Unit} {
		if v == "" {
			return nil, fmt.Errorf("portal: %s is required with DVCQG_URL", name)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	refusal := cfg.RefusalCodes
	if refusal == nil {
		refusal = DefaultRefusalCodes
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: cfg.Timeout}
	}
	c := &Client{cfg: cfg, base: u, refusal: refusal}
	c.http = &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		// A redirect elsewhere would hand the session (and personal data)
		// to another host: refused. One on the same host must keep the
		// method and body (307, 308).
		if req.URL.Host != u.Host || req.URL.Scheme != u.Scheme {
			return errRedirect
		}
		if req.Method != http.MethodPost || len(via) > 3 {
			return errRedirect
		}
		return nil
	}}
	return c, nil
}

var errRedirect = errors.New("redirect refused")

// answer is the portal's reply.
type answer struct {
	ErrorCode code   `json:"error_code"`
	Message   string `json:"message"`
	Session   string `json:"session"`
}

// code reads error_code as a number or a string of digits.
type code struct {
	n   int
	set bool
}

func (c *code) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("error_code %q is not a number", maskRe.ReplaceAllString(s, "#"))
	}
	c.n, c.set = n, true
	return nil
}

// post sends a JSON body and reads the answer; errors are *Error.
func (c *Client) post(ctx context.Context, path string, header map[string]string, body any) (answer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return answer{}, &Error{Kind: Failed, Message: "cannot encode the request", Result: "encode"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(b))
	if err != nil {
		return answer{}, &Error{Kind: Unavailable, Message: "bad request", Result: "error"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, errRedirect):
			return answer{}, &Error{Kind: Unavailable, Message: "redirect to another address refused", Result: "redirect"}
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return answer{}, &Error{Kind: Unavailable, Message: "no answer in time", Result: "timeout"}
		case ctx.Err() != nil:
			return answer{}, ctx.Err()
		}
		return answer{}, &Error{Kind: Unavailable, Message: "cannot reach the portal", Result: "unreachable"}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, &Error{Kind: Unavailable, Status: resp.StatusCode, Message: "answer cut off", Result: "timeout"}
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || !a.ErrorCode.set {
		kind, result := Unavailable, "not_json"
		msg := fmt.Sprintf("answer is not the protocol's JSON (%s, %d bytes)", shortType(resp.Header.Get("Content-Type")), len(raw))
		if resp.StatusCode/100 != 2 {
			result = "http_" + strconv.Itoa(resp.StatusCode)
		}
		return answer{}, &Error{Kind: kind, Status: resp.StatusCode, Message: msg, Result: result}
	}
	a.Message = mask(a.Message)
	if resp.StatusCode/100 != 2 && a.ErrorCode.n == 0 {
		return a, &Error{Kind: Unavailable, Status: resp.StatusCode, Message: a.Message, Result: "http_" + strconv.Itoa(resp.StatusCode)}
	}
	return a, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func shortType(ct string) string {
	if ct == "" {
		return "no content type"
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if len(ct) > 40 {
		ct = ct[:40]
	}
	return ct
}

// signIn gets a new session unless another caller already replaced stale.
func (c *Client) signIn(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != "" && c.session != stale {
		return c.session, nil
	}
	a, err := c.post(ctx, "/auth", map[string]string{"dstcode": c.cfg.Unit},
		map[string]string{"username": c.cfg.Username, "password": c.cfg.Password})
	if err == nil && (a.ErrorCode.n != 0 || a.Session == "") {
		err = &Error{Kind: Unavailable, Code: a.ErrorCode.n, Message: "sign-in refused: " + a.Message, Result: "sign_in_refused"}
	}
	if err != nil {
		c.signedIn(resultOf(err))
		return "", err
	}
	c.signedIn("ok")
	c.session = a.Session
	return a.Session, nil
}

func (c *Client) signedIn(result string) {
	if c.cfg.OnSignIn != nil {
		c.cfg.OnSignIn(result)
	}
}

func resultOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Result != "" {
		return e.Result
	}
	return "error"
}

// Call sends one service call with its data, signing in first where
// needed, and again (then repeating the call) when the portal says the
// session expired. It returns nil when the portal answered error_code 0.
func (c *Client) Call(ctx context.Context, service string, updating bool, data []any) error {
	err := c.call(ctx, service, updating, data)
	if c.cfg.OnCall != nil {
		if err == nil {
			c.cfg.OnCall(service, "ok")
		} else if ctx.Err() == nil {
			c.cfg.OnCall(service, resultOf(err))
		}
	}
	return err
}

func (c *Client) call(ctx context.Context, service string, updating bool, data []any) error {
	c.mu.Lock()
	session := c.session
	c.mu.Unlock()
	for try := 0; ; try++ {
		if session == "" {
			var err error
			if session, err = c.signIn(ctx, ""); err != nil {
				return err
			}
		}
		upd := "False"
		if updating {
			upd = "True"
		}
		a, err := c.post(ctx, "/integration", nil, map[string]any{"session": session, "madonvi": c.cfg.Unit,
			"service": service, "isUpdating": upd, "data": data})
		if err != nil {
			return err
		}
		switch n := a.ErrorCode.n; {
		case n == 0:
			return nil
		case n == codeSessionExpired && try < 2:
			if c.cfg.OnCall != nil {
				c.cfg.OnCall(service, "session_expired")
			}
			if session, err = c.signIn(ctx, session); err != nil {
				return err
			}
		case n == codeSessionExpired:
			return &Error{Kind: Unavailable, Code: n, Message: "the session expired again right after signing in", Result: "session_expired"}
		case slices.Contains(c.refusal, n):
			return &Error{Kind: Refused, Code: n, Message: a.Message, Result: "refused"}
		default:
			return &Error{Kind: Failed, Code: n, Message: a.Message, Result: "unknown_error_code"}
		}
	}
}

var (
	maskRe  = regexp.MustCompile(`[0-9]{4,}`)
	emailRe = regexp.MustCompile(`[^\s@"']+@[^\s@"']+`)
)

// mask keeps a portal message fit for logs and the status: digit runs (ID
// and phone numbers) and e-mail addresses masked, at most 300 characters.
func mask(s string) string {
	s = emailRe.ReplaceAllString(s, "***@***")
	s = maskRe.ReplaceAllStringFunc(s, func(m string) string { return strings.Repeat("#", len(m)) })
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:300]) + "…"
	}
	return s
}
