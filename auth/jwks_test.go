package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
	}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]string {
	// Fixed-width coordinates, as RFC 7518 §6.2.1.2 requires.
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]string{
		"kid": kid, "kty": "EC", "alg": "ES256", "use": "sig",
		"crv": "P-256", "x": b64(x), "y": b64(y),
	}
}

// jwksServer serves whatever key set was last stored in it.
type jwksServer struct {
	*httptest.Server
	body     atomic.Pointer[[]byte]
	requests atomic.Int64
	status   atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...map[string]string) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s.status.Load()))
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, keys ...map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s.body.Store(&b)
}

func signKid(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEC(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	rsaKey, otherRSA, ecKey := mustRSA(t), mustRSA(t), mustEC(t)
	srv := newJWKSServer(t, rsaJWK("rsa-1", &rsaKey.PublicKey), ecJWK("ec-1", &ecKey.PublicKey))
	v, err := auth.NewJWKS(t.Context(), srv.URL, auth.Options{Issuer: "https://id.example", Audience: "motcua-api"})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	c := with(with(baseClaims(now), "iss", "https://id.example"), "aud", []string{"motcua-api"})
	want := domain.Actor{Sub: "u-1", Name: "Nguyễn Văn A", Roles: []domain.Role{domain.RoleClerk, domain.RoleOfficer}, Agency: "000.00.07.H29"}

	tests := []struct {
		name    string
		token   func(t *testing.T) string
		wantErr error
	}{
		{name: "RS256", token: func(t *testing.T) string { return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, c) }},
		{name: "ES256", token: func(t *testing.T) string { return signKid(t, jwt.SigningMethodES256, "ec-1", ecKey, c) }},
		{name: "unknown kid", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "nobody", rsaKey, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "other RSA key, same kid", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", otherRSA, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "RS256 with the EC kid", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "ec-1", rsaKey, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "RS384", token: func(t *testing.T) string { return signKid(t, jwt.SigningMethodRS384, "rsa-1", rsaKey, c) }, wantErr: auth.ErrInvalidToken},
		{name: "PS256", token: func(t *testing.T) string { return signKid(t, jwt.SigningMethodPS256, "rsa-1", rsaKey, c) }, wantErr: auth.ErrInvalidToken},
		{name: "HS256 with the public key as secret", token: func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
			tok.Header["kid"] = "rsa-1"
			s, err := tok.SignedString(publicPEM(t, &rsaKey.PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, wantErr: auth.ErrInvalidToken},
		{name: "RS256 header, HMAC with the public key", token: func(t *testing.T) string {
			return hmacWithHeader(t, "RS256", publicPEM(t, &rsaKey.PublicKey), with(c, "kid", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "alg none", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType, c)
		}, wantErr: auth.ErrInvalidToken},
		{name: "expired", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodES256, "ec-1", ecKey, with(c, "exp", now.Add(-time.Hour).Unix()))
		}, wantErr: auth.ErrExpired},
		{name: "wrong issuer", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with(c, "iss", "https://evil.example"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "no issuer", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with(c, "iss", nil))
		}, wantErr: auth.ErrInvalidToken},
		// The same provider's token for another application, admin role
		// and all: refused.
		{name: "another application's token", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with(with(c, "aud", []string{"payroll"}), "roles", []string{"admin"}))
		}, wantErr: auth.ErrInvalidToken},
		// The pages' ID token is for the pages' OIDC client, not the API.
		{name: "the pages' ID token", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodES256, "ec-1", ecKey, with(c, "aud", "motcua-pages"))
		}, wantErr: auth.ErrInvalidToken},
		{name: "no audience", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with(c, "aud", nil))
		}, wantErr: auth.ErrInvalidToken},
		{name: "audience among several", token: func(t *testing.T) string {
			return signKid(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with(c, "aud", []string{"motcua-pages", "motcua-api"}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := tt.token(t)
			got, err := v.Verify(t.Context(), tok)
			checkResult(t, tok, got, err, want, tt.wantErr)
		})
	}
}

func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := mustRSA(t), mustEC(t)
	srv := newJWKSServer(t, rsaJWK("old", &oldKey.PublicKey))
	v, err := auth.NewJWKS(t.Context(), srv.URL, auth.Options{Issuer: "motcua", Audience: "motcua"})
	if err != nil {
		t.Fatal(err)
	}
	c := baseClaims(time.Now())
	if _, err := v.Verify(t.Context(), signKid(t, jwt.SigningMethodRS256, "old", oldKey, c)); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}

	srv.set(t, ecJWK("new", &newKey.PublicKey))
	tok := signKid(t, jwt.SigningMethodES256, "new", newKey, c)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(t.Context(), tok)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new key not picked up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The refresh replaced the whole set: the retired key no longer verifies.
	if _, err := v.Verify(t.Context(), signKid(t, jwt.SigningMethodRS256, "old", oldKey, c)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("old key after rotation: err = %v, want ErrInvalidToken", err)
	}
}

func TestNewJWKSFailsFast(t *testing.T) {
	t.Parallel()
	down := newJWKSServer(t)
	down.status.Store(http.StatusServiceUnavailable)
	garbage := newJWKSServer(t)
	garbage.body.Store(&[]byte{'{'})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct{ name, url string }{
		{"empty URL", ""},
		{"not a URL", "::"},
		{"503", down.URL},
		{"bad JSON", garbage.URL},
		{"connection refused", closed.URL},
	}
	good := newJWKSServer(t)
	for _, opts := range []auth.Options{{}, {Issuer: "https://id.example"}, {Audience: "motcua-api"}} {
		if _, err := auth.NewJWKS(t.Context(), good.URL, opts); err == nil {
			t.Errorf("NewJWKS with %+v succeeded, want an error naming the missing check", opts)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := auth.NewJWKS(t.Context(), tt.url, auth.Options{Issuer: "motcua", Audience: "motcua"}); err == nil {
				t.Fatal("NewJWKS succeeded, want error")
			}
		})
	}
}

// TestJWKSUnknownKidRateLimited: made-up kids must neither hammer the
// provider nor hold requests waiting for the rate limiter.
func TestJWKSUnknownKidRateLimited(t *testing.T) {
	t.Parallel()
	key := mustRSA(t)
	srv := newJWKSServer(t, rsaJWK("rsa-1", &key.PublicKey))
	v, err := auth.NewJWKS(t.Context(), srv.URL, auth.Options{Issuer: "motcua", Audience: "motcua"})
	if err != nil {
		t.Fatal(err)
	}
	c := baseClaims(time.Now())
	start := time.Now()
	for i := range 20 {
		tok := signKid(t, jwt.SigningMethodRS256, "made-up-"+string(rune('a'+i)), key, c)
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("unknown kid %d: err = %v", i, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("20 unknown-kid tokens took %v", d)
	}
	if n := srv.requests.Load(); n > 2 {
		t.Fatalf("JWKS fetched %d times, want at most 2 (start and one refresh)", n)
	}
}
