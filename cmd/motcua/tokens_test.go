package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestJWKSNeedsIssuerAndAudience: with JWKS_URL, a missing JWT_ISSUER or
// JWT_AUDIENCE stops the start with one line naming it; without JWKS_URL
// they are refused, since the own key's tokens always carry motcua.
func TestJWKSNeedsIssuerAndAudience(t *testing.T) {
	tests := []struct {
		env  map[string]string
		name string // the variable the error must start with
	}{
		{map[string]string{"JWKS_URL": "https://id.example/jwks", "JWT_AUDIENCE": "motcua-api"}, "JWT_ISSUER"},
		{map[string]string{"JWKS_URL": "https://id.example/jwks", "JWT_ISSUER": "https://id.example"}, "JWT_AUDIENCE"},
		{map[string]string{"JWKS_URL": "https://id.example/jwks"}, "JWT_ISSUER"},
		{map[string]string{"JWT_ISSUER": "https://id.example"}, "JWT_ISSUER"},
		{map[string]string{"JWT_AUDIENCE": "motcua-api"}, "JWT_AUDIENCE"},
		{map[string]string{"JWKS_URL": "https://id.example/jwks", "JWT_ISSUER": "https://id.example", "JWT_AUDIENCE": "a\nb"}, "JWT_AUDIENCE"},
	}
	for _, tt := range tests {
		tt.env["DATA_DIR"] = t.TempDir()
		err := run(context.Background(), []string{"migrate"}, envOf(tt.env), io.Discard, io.Discard, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.name+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line starting with %s", tt.env, err, tt.name)
		}
	}
}

// TestOwnTokensCarryIssuerAndAudience: `motcua token` writes iss and aud
// motcua, and the server refuses a token signed with its own key but made
// for another issuer or audience.
func TestOwnTokensCarryIssuerAndAudience(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error"}
	tok := tokenFor(t, env, "admin", "000.00.00.H29")
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Iss string   `json:"iss"`
		Aud []string `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != "motcua" || len(c.Aud) != 1 || c.Aud[0] != "motcua" {
		t.Fatalf("token claims %s (%v), want iss and aud motcua", payload, err)
	}
	key, err := signingKey(Config{DataDir: env["DATA_DIR"]})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServer(t, env)
	now := time.Now()
	claims := func(iss string, aud any) jwt.MapClaims {
		m := jwt.MapClaims{"sub": "admin-x", "roles": []string{"admin"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if iss != "" {
			m["iss"] = iss
		}
		if aud != nil {
			m["aud"] = aud
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		claims jwt.MapClaims
		want   int
	}{
		{"motcua token", nil, 201},
		{"own key, iss and aud motcua", claims("motcua", []string{"motcua"}), 200},
		{"own key, another audience", claims("motcua", []string{"payroll"}), 401},
		{"own key, another issuer", claims("payroll", []string{"motcua"}), 401},
		{"own key, neither", claims("", nil), 401},
	} {
		bearer := tok
		if tt.claims != nil {
			bearer, err = jwt.NewWithClaims(jwt.SigningMethodHS256, tt.claims).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
		}
		if status, body := call(t, "PUT", base+"/api/v1/agencies/000.00.00.H29", bearer, map[string]any{"name": "UBND " + tt.name}); status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, status, body, tt.want)
		}
	}
}

// TestJWKSTokensOfOtherApplicationsRefused is the report's attack: a token
// of the same identity provider made for another application, with roles
// ["admin"], must not rename the root agency; nor may the pages' ID token.
func TestJWKSTokensOfOtherApplicationsRefused(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kid": "k1", "kty": "RSA", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(idp.Close)

	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error",
		"JWKS_URL": idp.URL, "JWT_ISSUER": "https://id.example/realms/gov", "JWT_AUDIENCE": "motcua-api"}
	base, _ := startServer(t, env)
	now := time.Now()
	sign := func(iss string, aud any) string {
		m := jwt.MapClaims{"sub": "someone", "roles": []string{"admin"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if iss != "" {
			m["iss"] = iss
		}
		if aud != nil {
			m["aud"] = aud
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, m)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct {
		name  string
		token string
		want  int
	}{
		{"another application of the same provider", sign("https://id.example/realms/gov", []string{"payroll"}), 401},
		{"the pages' ID token", sign("https://id.example/realms/gov", "motcua-pages"), 401},
		{"another issuer, right audience", sign("https://other.example", []string{"motcua-api"}), 401},
		{"no audience", sign("https://id.example/realms/gov", nil), 401},
		{"no issuer", sign("", []string{"motcua-api"}), 401},
		{"the API's token", sign("https://id.example/realms/gov", []string{"motcua-api"}), 201},
	} {
		if status, body := call(t, "PUT", base+"/api/v1/agencies/000.00.00.H29", tt.token, map[string]any{"name": "Đổi tên"}); status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, status, body, tt.want)
		}
	}
}
