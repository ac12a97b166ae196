// Package auth turns bearer tokens into domain.Actor values.
//
// Two verifiers exist because the service runs in two ways (README.md,
// Configuration): locally it signs and checks its own HS256 tokens (NewHS256,
// Issue, LoadOrCreateKey, used by `motcua token`); in production it checks
// RS256/ES256 tokens of an OpenID Connect provider against the provider's
// JWKS (NewJWKS).
//
// Both verifiers pin the accepted algorithms, so a token cannot choose how it
// is checked (no "none", no HMAC signed with a public key). Every failure
// wraps ErrInvalidToken with a short fixed reason that never repeats the
// token, so errors are safe to log; expired tokens also wrap ErrExpired so a
// client can be told to sign in again.
//
// The claims are: sub (required), name, roles (a non-empty array of
// contract roles), agency (an electronic agency ID, required unless the only
// role is admin), exp (required), and iat/nbf when present, all with 30
// seconds of leeway for clock skew.
package auth
