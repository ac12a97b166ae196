package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/motcua/motcua/domain"
)

// Verifier checks a bearer token (without the "Bearer " prefix) and returns
// the person it names.
type Verifier interface {
	Verify(ctx context.Context, token string) (domain.Actor, error)
}

var (
	// ErrInvalidToken is wrapped by every verification failure.
	ErrInvalidToken = errors.New("invalid token")
	// ErrExpired is wrapped, together with ErrInvalidToken, when the token's
	// exp has passed: the client should get a fresh token rather than give up.
	ErrExpired = errors.New("token expired")
)

// OwnIssuer and OwnAudience are the iss and aud of the service's own HS256
// tokens (`motcua token`): Issue writes them and NewHS256 checks them unless
// told other values.
const (
	OwnIssuer   = "motcua"
	OwnAudience = "motcua"
)

// Options are the checks of the registered claims shared by both verifiers.
type Options struct {
	// Issuer must equal the token's iss. NewJWKS requires it; NewHS256
	// uses OwnIssuer when it is empty.
	Issuer string
	// Audience must be one of the token's aud values. NewJWKS requires it;
	// NewHS256 uses OwnAudience when it is empty.
	Audience string
	// HTTPClient fetches the key set of NewJWKS; nil means
	// http.DefaultClient. Each fetch is bounded by a timeout regardless.
	HTTPClient *http.Client
}

const (
	// Leeway absorbs clock skew between the issuer and this service.
	Leeway = 30 * time.Second
	// maxTokenLen stops oversized headers from costing parse time; real
	// tokens are well under 2 KiB.
	maxTokenLen = 8 << 10
	// MinSecretLen is the shortest HS256 secret accepted: 256 bits, the
	// size of the hash, as RFC 7518 §3.2 requires.
	MinSecretLen = 32
)

// claims is the token payload (docs/api.md, HTTP conventions).
type claims struct {
	jwt.RegisteredClaims
	Name   string   `json:"name,omitempty"`
	Title  string   `json:"title,omitempty"`
	Roles  []string `json:"roles"`
	Agency string   `json:"agency,omitempty"`
}

// verifier is the algorithm-independent part: the key lookup and the
// accepted algorithms are what differ between HS256 and JWKS.
type verifier struct {
	algs    []string
	keyfunc func(ctx context.Context) jwt.Keyfunc
	opts    Options
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

func (v *verifier) Verify(ctx context.Context, token string) (domain.Actor, error) {
	if token == "" {
		return domain.Actor{}, invalid("empty token")
	}
	if len(token) > maxTokenLen {
		return domain.Actor{}, invalid("token too long")
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
	}
	if v.opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(v.opts.Issuer))
	}
	if v.opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(v.opts.Audience))
	}
	var c claims
	tok, err := jwt.NewParser(popts...).ParseWithClaims(token, &c, v.keyfunc(ctx))
	if err != nil {
		return domain.Actor{}, v.reason(tok, &c, err)
	}
	a, err := c.actor()
	if err != nil {
		return domain.Actor{}, invalid(err.Error())
	}
	a.Expires = c.ExpiresAt.Time // required by the parser above
	return a, nil
}

// reason maps a jwt error to a fixed message. The library's own messages are
// dropped on purpose: some quote header values chosen by the sender.
func (v *verifier) reason(tok *jwt.Token, c *claims, err error) error {
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); alg != "" && !slices.Contains(v.algs, alg) {
			return invalid("algorithm not accepted")
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("malformed token")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid("no key to verify the token")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("bad signature")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case c.ExpiresAt == nil:
			return invalid("missing exp")
		case c.Issuer == "" && v.opts.Issuer != "":
			return invalid("missing iss")
		}
		return invalid("missing aud")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalid("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("token issued in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return invalid("wrong issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return invalid("wrong audience")
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return invalid("invalid claims")
	}
	return invalid("verification failed")
}

// actor checks the application claims; the registered ones were checked by
// the parser.
func (c *claims) actor() (domain.Actor, error) {
	roles := make([]domain.Role, 0, len(c.Roles))
	for _, s := range c.Roles {
		r, ok := domain.ParseRole(s)
		if !ok {
			return domain.Actor{}, errors.New("unknown role")
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	a := domain.Actor{Sub: c.Subject, Name: c.Name, Title: c.Title, Roles: roles, Agency: c.Agency}
	if err := checkActor(a); err != nil {
		return domain.Actor{}, err
	}
	return a, nil
}

// checkActor holds the rules shared by Verify and Issue, so Issue never signs
// a token Verify would refuse.
func checkActor(a domain.Actor) error {
	if a.Sub == "" {
		return errors.New("missing sub")
	}
	if len(a.Roles) == 0 {
		return errors.New("no roles")
	}
	onlyAdmin := true
	for _, r := range a.Roles {
		if _, ok := domain.ParseRole(string(r)); !ok {
			return errors.New("unknown role")
		}
		onlyAdmin = onlyAdmin && r == domain.RoleAdmin
	}
	switch {
	case a.Agency == "" && !onlyAdmin:
		// Every non-admin action is scoped to an agency; without one the
		// actor could not be authorised for anything anyway.
		return errors.New("missing agency")
	case a.Agency != "" && !domain.ValidAgencyCode(a.Agency):
		return errors.New("bad agency code")
	}
	return nil
}
