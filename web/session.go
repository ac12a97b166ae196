package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
)

// Cookie names of the pages. The session and the sign-in state are sealed
// (AES-GCM) with a key derived from Config.SessionKey, so they can be
// neither read nor forged by the browser; the form cookie is a random value
// that the CSRF tokens of anonymous forms are bound to.
const (
	sessionCookie = "motcua_session"
	formCookie    = "motcua_form"
	oidcCookie    = "motcua_oidc"
	csrfField     = "csrf"

	// DefaultSessionTTL is how long a staff session lasts: one working day.
	DefaultSessionTTL = 9 * time.Hour
)

// session is what the session cookie carries: who signed in, until when,
// and a random id that the CSRF token of every staff form is bound to.
type session struct {
	ID      string        `json:"id"`
	Sub     string        `json:"sub"`
	Name    string        `json:"name,omitempty"`
	Roles   []domain.Role `json:"roles"`
	Agency  string        `json:"agency,omitempty"`
	Expires int64         `json:"exp"` // Unix seconds
	Via     string        `json:"via"` // "token" or "oidc"
}

func (s session) actor() domain.Actor {
	return domain.Actor{Sub: s.Sub, Name: s.Name, Roles: slices.Clone(s.Roles), Agency: s.Agency}
}

// sessions seals cookies and makes and checks CSRF tokens. Every session
// is also recorded in the database (book), and each use checks the record,
// so signing out, or an administrator ending a person's sessions, ends them
// on every instance at once: a copied cookie stops working.
type sessions struct {
	aead    cipher.AEAD
	csrfKey []byte
	ttl     time.Duration
	secure  bool // cookies only over HTTPS (PUBLIC_URL is https)
	now     func() time.Time
	book    sessionBook
}

// sessionBook is where sessions are recorded (service.Service).
type sessionBook interface {
	StartSession(ctx context.Context, id, sub, via string, expires time.Time) error
	SessionLive(ctx context.Context, id string) (bool, error)
	EndSession(ctx context.Context, id string) error
}

var errBadCookie = errors.New("cookie not valid")

func newSessions(secret []byte, ttl time.Duration, secure bool, now func() time.Time) (*sessions, error) {
	if len(secret) == 0 {
		// No key given (tests of the API alone): sessions live as long as
		// the process.
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	encKey, err := hkdf.Key(sha256.New, secret, nil, "motcua pages session v1", 32)
	if err != nil {
		return nil, err
	}
	csrfKey, err := hkdf.Key(sha256.New, secret, nil, "motcua pages csrf v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &sessions{aead: aead, csrfKey: csrfKey, ttl: ttl, secure: secure, now: now}, nil
}

// seal encrypts v with a purpose bound in, so a cookie of one kind cannot be
// replayed as another.
func (s *sessions) seal(purpose string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *sessions) open(purpose, value string, v any) error {
	if value == "" || len(value) > 4096 {
		return errBadCookie
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return errBadCookie
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errBadCookie
	}
	return nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *sessions) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode}
}

// start signs an actor in: a new session (new id, so a CSRF token of an
// earlier session is worthless), recorded in the database, in a fresh
// cookie. It lasts the session TTL, but never beyond tokenExpires, the
// expiry of the token the person signed in with (zero: none known).
func (s *sessions) start(c echo.Context, a domain.Actor, via string, tokenExpires time.Time) (session, error) {
	now := s.now()
	expires := now.Add(s.ttl)
	if !tokenExpires.IsZero() && tokenExpires.Before(expires) {
		expires = tokenExpires
	}
	if !expires.After(now) {
		return session{}, &domain.Error{Kind: domain.Unauthorized, Code: "unauthorized", Detail: "the token has expired"}
	}
	ss := session{ID: randomID(16), Sub: a.Sub, Name: a.Name, Roles: a.Roles, Agency: a.Agency,
		Expires: expires.Unix(), Via: via}
	if s.book != nil {
		if err := s.book.StartSession(c.Request().Context(), ss.ID, ss.Sub, via, time.Unix(ss.Expires, 0)); err != nil {
			return session{}, err
		}
	}
	v, err := s.seal(sessionCookie, ss)
	if err != nil {
		return session{}, err
	}
	c.SetCookie(s.cookie(sessionCookie, v, "/", int(ss.Expires-now.Unix())))
	return ss, nil
}

// end clears the session cookie.
func (s *sessions) end(c echo.Context) {
	c.SetCookie(s.cookie(sessionCookie, "", "/", -1))
}

// signOut ends the cookie's session in the database, on every instance,
// and clears the cookie.
func (s *sessions) signOut(c echo.Context) error {
	defer s.end(c)
	ss, state := s.cookieSession(c)
	if state == sessionNone || state == sessionForged || s.book == nil {
		return nil
	}
	return s.book.EndSession(c.Request().Context(), ss.ID)
}

// sessionState says why there is no usable session.
type sessionState int

const (
	sessionOK sessionState = iota
	sessionNone
	sessionExpired
	sessionForged
	sessionEnded // signed out or ended by an administrator
)

// current returns the cookie's session if it may be used: sealed by us, not
// expired, and live in the database. None, forged, expired and ended
// sessions are told apart for the message, never trusted. The error is the
// database's, when it could not say.
func (s *sessions) current(c echo.Context) (session, sessionState, error) {
	ss, state := s.cookieSession(c)
	if state != sessionOK || s.book == nil {
		return ss, state, nil
	}
	live, err := s.book.SessionLive(c.Request().Context(), ss.ID)
	if err != nil {
		return session{}, sessionNone, err
	}
	if !live {
		return session{}, sessionEnded, nil
	}
	return ss, sessionOK, nil
}

// cookieSession reads the session cookie alone.
func (s *sessions) cookieSession(c echo.Context) (session, sessionState) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return session{}, sessionNone
	}
	var ss session
	if err := s.open(sessionCookie, ck.Value, &ss); err != nil || ss.ID == "" || ss.Sub == "" {
		return session{}, sessionForged
	}
	if s.now().Unix() >= ss.Expires {
		return session{}, sessionExpired
	}
	return ss, sessionOK
}

// csrfFor is the token of a form: an HMAC of the session id for staff forms,
// of the form cookie for anonymous ones (look-up, rating, sign-in).
func (s *sessions) csrfFor(binding string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *sessions) checkCSRF(binding, token string) bool {
	if binding == "" || token == "" || len(token) > 100 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.csrfFor(binding)), []byte(token)) == 1
}

// formBinding returns the anonymous form cookie's value, setting a new one
// when there is none (or it is not one of ours in shape).
func (s *sessions) formBinding(c echo.Context) string {
	if ck, err := c.Cookie(formCookie); err == nil && validFormValue(ck.Value) {
		return "form:" + ck.Value
	}
	v := randomID(16)
	c.SetCookie(s.cookie(formCookie, v, "/", 0))
	return "form:" + v
}

func validFormValue(v string) bool {
	if len(v) != 32 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// anonymousCSRFOK checks the token of an anonymous form against the form
// cookie sent with it.
func (s *sessions) anonymousCSRFOK(c echo.Context) bool {
	ck, err := c.Cookie(formCookie)
	if err != nil || !validFormValue(ck.Value) {
		return false
	}
	return s.checkCSRF("form:"+ck.Value, c.FormValue(csrfField))
}

// safeNext keeps a redirect after sign-in on this site: a local absolute
// path and nothing a browser could read as another host. Browsers drop tabs
// and newlines from a URL and read a backslash as a slash, so "/<TAB>/evil.example"
// and "/<BACKSLASH>evil.example" both become "//evil.example", a link to
// another site. Only printable ASCII is accepted (the paths it comes from are the
// escaped request URIs), never a backslash, never "//" at the start, and
// the value must parse as a path without scheme or host.
func safeNext(next string) string {
	if next == "" || len(next) > 500 || next[0] != '/' || strings.HasPrefix(next, "//") {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.Contains(u.Path, "\\") {
		return ""
	}
	return next
}
