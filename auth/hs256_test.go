package auth_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// baseClaims is a valid payload; cases change one thing.
func baseClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":    "motcua",
		"aud":    []string{"motcua"},
		"sub":    "u-1",
		"name":   "Nguyễn Văn A",
		"roles":  []string{"clerk", "officer"},
		"agency": "000.00.07.H29",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
	}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hmacWithHeader signs c with HMAC-SHA256 under key but writes alg into the
// header: the algorithm-confusion attack.
func hmacWithHeader(t *testing.T, alg string, key []byte, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["alg"] = alg
	unsigned, err := tok.SigningString()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func publicPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for key, val := range c {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestHS256(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := baseClaims(now)
	want := domain.Actor{Sub: "u-1", Name: "Nguyễn Văn A", Roles: []domain.Role{domain.RoleClerk, domain.RoleOfficer}, Agency: "000.00.07.H29"}

	tests := []struct {
		name    string
		opts    auth.Options
		token   func(t *testing.T) string
		want    domain.Actor
		wantErr error // nil means success
	}{
		{name: "valid", token: func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, secret, c) }, want: want},
		{name: "admin without agency", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(with(c, "agency", nil), "roles", []string{"admin"}))
		}, want: domain.Actor{Sub: "u-1", Name: "Nguyễn Văn A", Roles: []domain.Role{domain.RoleAdmin}}},
		{name: "duplicate roles collapse", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "roles", []string{"clerk", "clerk"}))
		}, want: domain.Actor{Sub: "u-1", Name: "Nguyễn Văn A", Roles: []domain.Role{domain.RoleClerk}, Agency: "000.00.07.H29"}},
		{name: "expired within leeway", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "exp", now.Add(-10*time.Second).Unix()))
		}, want: want},
		{name: "expired", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "exp", now.Add(-time.Hour).Unix()))
		}, wantErr: auth.ErrExpired},
		{name: "not yet valid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "nbf", now.Add(time.Hour).Unix()))
		}, wantErr: auth.ErrInvalidToken},
		{name: "issued in the future", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "iat", now.Add(time.Hour).Unix()))
		}, wantErr: auth.ErrInvalidToken},
		{name: "missing exp", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "exp", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "other secret", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "alg none", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "HS384 same secret", token: func(t *testing.T) string { return sign(t, jwt.SigningMethodHS384, secret, c) }, wantErr: auth.ErrInvalidToken},
		{name: "HS512 same secret", token: func(t *testing.T) string { return sign(t, jwt.SigningMethodHS512, secret, c) }, wantErr: auth.ErrInvalidToken},
		{name: "RS256 header, HMAC with public key", token: func(t *testing.T) string {
			return hmacWithHeader(t, "RS256", publicPEM(t, &rsaKey.PublicKey), c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "RS256 header, HMAC with the secret", token: func(t *testing.T) string {
			return hmacWithHeader(t, "RS256", secret, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "really RS256", token: func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, c) }, wantErr: auth.ErrInvalidToken},
		{name: "missing sub", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "sub", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "unknown role", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "roles", []string{"clerk", "root"}))
		}, wantErr: auth.ErrInvalidToken},
		{name: "no roles", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "roles", []string{}))
		}, wantErr: auth.ErrInvalidToken},
		{name: "roles claim missing", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "roles", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "roles not an array", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "roles", "admin"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "bad agency code", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "agency", "h29; drop"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "clerk without agency", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "agency", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "malformed", token: func(*testing.T) string { return "not.a.jwt" }, wantErr: auth.ErrInvalidToken},
		{name: "empty", token: func(*testing.T) string { return "" }, wantErr: auth.ErrInvalidToken},
		{name: "huge", token: func(*testing.T) string { return strings.Repeat("a", 10000) }, wantErr: auth.ErrInvalidToken},
		{name: "issuer and audience match", opts: auth.Options{Issuer: "https://id.example", Audience: "motcua"}, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(with(c, "iss", "https://id.example"), "aud", []string{"other", "motcua"}))
		}, want: want},
		{name: "wrong issuer", opts: auth.Options{Issuer: "https://id.example"}, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "iss", "https://evil.example"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "missing issuer", opts: auth.Options{Issuer: "https://id.example"}, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "iss", nil))
		}, wantErr: auth.ErrInvalidToken},
		// The own key checks iss and aud too: a token made with the same
		// secret for another application (or before iss/aud were written)
		// is refused.
		{name: "own key, other issuer", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "iss", "other-app"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "own key, other audience", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "aud", []string{"other-app"}))
		}, wantErr: auth.ErrInvalidToken},
		{name: "own key, no issuer", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "iss", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "own key, no audience", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "aud", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "own key, audience as a string", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "aud", "motcua"))
		}, want: want},
		{name: "wrong audience", opts: auth.Options{Audience: "motcua"}, token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, with(c, "aud", "other"))
		}, wantErr: auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.NewHS256(secret, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tok := tt.token(t)
			got, err := v.Verify(t.Context(), tok)
			checkResult(t, tok, got, err, tt.want, tt.wantErr)
		})
	}
}

// checkResult compares a Verify outcome; on failure the error must wrap
// ErrInvalidToken (and wantErr) and must not echo the token.
func checkResult(t *testing.T, tok string, got domain.Actor, err error, want domain.Actor, wantErr error) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got.Sub != want.Sub || got.Name != want.Name || got.Agency != want.Agency || !equalRoles(got.Roles, want.Roles) {
			t.Fatalf("Verify = %+v, want %+v", got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify succeeded with %+v, want %v", got, wantErr)
	}
	if !errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, wantErr) {
		t.Fatalf("Verify error %q does not wrap %v and ErrInvalidToken", err, wantErr)
	}
	if len(tok) > 8 && strings.Contains(err.Error(), tok) {
		t.Fatalf("error %q contains the token", err)
	}
	for _, part := range strings.Split(tok, ".") {
		if len(part) > 8 && strings.Contains(err.Error(), part) {
			t.Fatalf("error %q contains part of the token", err)
		}
	}
	t.Logf("rejected: %v", err)
}

func equalRoles(a, b []domain.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewHS256ShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := auth.NewHS256(make([]byte, 31), auth.Options{}); err == nil {
		t.Fatal("NewHS256 accepted a 31-byte secret")
	}
}

func TestIssueRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name    string
		actor   domain.Actor
		ttl     time.Duration
		issueOK bool
	}{
		{name: "clerk", actor: domain.Actor{Sub: "c1", Name: "Trần Thị B", Roles: []domain.Role{domain.RoleClerk}, Agency: "000.00.07.H29"}, ttl: 8 * time.Hour, issueOK: true},
		{name: "supervisor and officer", actor: domain.Actor{Sub: "s1", Roles: []domain.Role{domain.RoleSupervisor, domain.RoleOfficer}, Agency: "G01.001"}, ttl: time.Minute, issueOK: true},
		{name: "admin without agency", actor: domain.Actor{Sub: "a1", Roles: []domain.Role{domain.RoleAdmin}}, ttl: time.Hour, issueOK: true},
		{name: "no sub", actor: domain.Actor{Roles: []domain.Role{domain.RoleAdmin}}, ttl: time.Hour},
		{name: "unknown role", actor: domain.Actor{Sub: "x", Roles: []domain.Role{"root"}, Agency: "G01.001"}, ttl: time.Hour},
		{name: "clerk without agency", actor: domain.Actor{Sub: "x", Roles: []domain.Role{domain.RoleClerk}}, ttl: time.Hour},
		{name: "zero ttl", actor: domain.Actor{Sub: "a1", Roles: []domain.Role{domain.RoleAdmin}}},
	}
	v, err := auth.NewHS256(secret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := auth.Issue(secret, tt.actor, tt.ttl, now)
			if !tt.issueOK {
				if err == nil {
					t.Fatal("Issue succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(t.Context(), tok)
			checkResult(t, tok, got, err, tt.actor, nil)
		})
	}

	t.Run("issued long ago is expired", func(t *testing.T) {
		t.Parallel()
		tok, err := auth.Issue(secret, tests[0].actor, time.Hour, now.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(t.Context(), tok)
		checkResult(t, tok, got, err, domain.Actor{}, auth.ErrExpired)
	})
}
