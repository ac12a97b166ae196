package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

const (
	// jwksRefresh is how often the key set is fetched in the background, so
	// revoked keys stop verifying within minutes.
	jwksRefresh = 5 * time.Minute
	// jwksTimeout bounds each fetch of the key set.
	jwksTimeout = 10 * time.Second
	// jwksRateWait is how long a token with an unknown kid may wait for the
	// refresh rate limiter (keyfunc's default: one refresh per 5 minutes).
	// Short, so a flood of made-up kids fails fast instead of holding
	// requests; a genuinely new key is still found by the first such token
	// or by the next background refresh.
	jwksRateWait = time.Second
)

// NewJWKS returns a Verifier of RS256 and ES256 tokens signed by the keys
// published at url (an OpenID Connect provider's jwks_uri).
//
// The key set is fetched once before NewJWKS returns and it fails if that
// fetch fails: a service that cannot verify any token should not report
// itself ready, and a wrong JWKS_URL is better found at start than at the
// first request. After that a goroutine refreshes the set every 5 minutes
// until ctx is done, keeping the last good set when a refresh fails, and a
// token with an unknown kid triggers a rate-limited refresh, so key rotation
// needs no restart.
func NewJWKS(ctx context.Context, url string, opts Options) (Verifier, error) {
	if url == "" {
		return nil, errors.New("auth: JWKS URL is empty")
	}
	// One provider serves many applications: without both checks a token
	// it made for another application (or the pages' ID token) would pass.
	if opts.Issuer == "" {
		return nil, errors.New("auth: a JWKS verifier needs the expected issuer")
	}
	if opts.Audience == "" {
		return nil, errors.New("auth: a JWKS verifier needs the expected audience")
	}
	// A child context so that a failed start does not leave keyfunc's
	// refresh goroutine running.
	ctx, cancel := context.WithCancel(ctx)
	failFast := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		Client:                    opts.HTTPClient,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &failFast,
		RefreshInterval:           jwksRefresh,
		RateLimitWaitMax:          jwksRateWait,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: cannot load JWKS from %s: %w", url, err)
	}
	// On success the child must live exactly as long as the caller's ctx,
	// which it already does.
	_ = cancel
	return &verifier{
		algs:    []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()},
		keyfunc: kf.KeyfuncCtx,
		opts:    opts,
	}, nil
}
