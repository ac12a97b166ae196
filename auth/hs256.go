package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/motcua/motcua/domain"
)

// NewHS256 returns a Verifier of tokens signed with secret by HS256 only.
// Other HMAC sizes are refused too: one key should serve one algorithm.
// Every token must carry the issuer and audience of opts, by default
// OwnIssuer and OwnAudience, the values Issue writes.
func NewHS256(secret []byte, opts Options) (Verifier, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: HS256 secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	if opts.Issuer == "" {
		opts.Issuer = OwnIssuer
	}
	if opts.Audience == "" {
		opts.Audience = OwnAudience
	}
	key := slices.Clone(secret) // the caller may reuse its buffer
	kf := func(t *jwt.Token) (any, error) {
		// The parser already refused other algorithms; checking again keeps
		// the key from ever reaching a method it was not meant for.
		if t.Method != jwt.SigningMethodHS256 {
			return nil, errors.New("unexpected algorithm")
		}
		return key, nil
	}
	return &verifier{
		algs:    []string{jwt.SigningMethodHS256.Alg()},
		keyfunc: func(context.Context) jwt.Keyfunc { return kf },
		opts:    opts,
	}, nil
}

// Issue signs an HS256 token for a, valid from now for ttl, with iss
// OwnIssuer and aud OwnAudience. It is how
// `motcua token` and tests obtain tokens; it refuses actors that Verify would
// reject, so a mistake shows up when the token is made, not when it is used.
func Issue(secret []byte, a domain.Actor, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("auth: HS256 secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	if ttl <= 0 {
		return "", errors.New("auth: token lifetime must be positive")
	}
	if err := checkActor(a); err != nil {
		return "", fmt.Errorf("auth: cannot issue token: %w", err)
	}
	roles := make([]string, len(a.Roles))
	for i, r := range a.Roles {
		roles[i] = string(r)
	}
	now = now.Truncate(time.Second) // NumericDate has second precision
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    OwnIssuer,
			Audience:  jwt.ClaimStrings{OwnAudience},
			Subject:   a.Sub,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Name:   a.Name,
		Title:  a.Title,
		Roles:  roles,
		Agency: a.Agency,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}
