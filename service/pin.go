package service

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
	"errors"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// pinDigits is the length of a look-up PIN: short enough to type on a phone;
// guessing is stopped by the attempt limits (docs/security.md), not by the
// length.
const pinDigits = 8

// PINLimits bound wrong PINs (docs/security.md, "The citizen's PIN"). Each
// limit counts failures in a fixed window that starts at the first failure.
type PINLimits struct {
	// PerClientDossier wrong PINs from one client address on one dossier in
	// PairWindow refuse that address on that dossier for the rest of the
	// window; nobody else is affected.
	PerClientDossier int
	PairWindow       time.Duration
	// PerClient wrong PINs from one address on any dossiers in ClientWindow
	// refuse that address everywhere for the rest of the window (stops one
	// address from walking through sequential codes).
	PerClient    int
	ClientWindow time.Duration
	// PerDossier wrong PINs from all addresses together in DossierWindow
	// lock the dossier's look-up for the rest of the window: the ceiling for
	// a guesser spread over many addresses. It is above what one address can
	// reach in the window (PerClientDossier per PairWindow), so one address
	// alone never locks a citizen out.
	PerDossier    int
	DossierWindow time.Duration
}

// DefaultPINLimits are the limits README and docs/security.md state.
var DefaultPINLimits = PINLimits{
	PerClientDossier: 5, PairWindow: time.Hour,
	PerClient: 30, ClientWindow: time.Hour,
	PerDossier: 200, DossierWindow: 24 * time.Hour,
}

// Guard scopes of the attempt counters.
const (
	GuardClient  = "client"
	GuardPair    = "pair"
	GuardDossier = "dossier"
)

// GuardCount is one attempt counter to bump: the scope, its key, and the
// end of a window that starts now.
type GuardCount struct {
	Scope     string
	Key       string
	WindowEnd time.Time
}

// pinKeys are the service's secrets for PINs, derived from Options.Secret.
type pinKeys struct {
	hash   []byte // HMAC-SHA256 key of the stored PIN hashes
	replay cipher.AEAD
}

func newPINKeys(secret []byte) pinKeys {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // a key for this process only (tests)
	}
	derive := func(info string) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, info, 32)
		if err != nil {
			panic(err) // only for a length hkdf cannot give
		}
		return k
	}
	block, err := aes.NewCipher(derive("motcua idempotency pin v1"))
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return pinKeys{hash: derive("motcua pin hash v1"), replay: gcm}
}

// newPIN returns a random numeric PIN.
func newPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	s := n.String()
	return strings.Repeat("0", pinDigits-len(s)) + s, nil
}

// PIN hashes. "h1$salt$mac" is HMAC-SHA256 under a key derived from the
// service's secret of SHA-256(salt || PIN): without the secret a copy of the
// database does not even allow a brute force of the 10^8 PINs. The inner
// SHA-256 is the older "s256$salt$digest" format, so old hashes are
// upgraded without knowing their PINs (UpgradePINHashes); checkPIN still
// accepts the old format until they are.
const (
	pinHashV1     = "h1"
	pinHashLegacy = "s256"
)

// pinChecks counts PIN verifications, so a test can prove that every path of
// a look-up (unknown code, wrong PIN, right PIN) does the same work.
var pinChecks atomic.Int64

func (k pinKeys) hashPIN(pin string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return pinHashV1 + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(k.mac(legacyDigest(salt, pin))), nil
}

// SeedPINHasher hashes PINs as the service keyed by secret does, with the
// salt given: for the synthetic data set's generator, which draws its salts
// from a seeded generator.
func SeedPINHasher(secret []byte) func(salt []byte, pin string) string {
	k := newPINKeys(secret)
	return func(salt []byte, pin string) string {
		return pinHashV1 + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(k.mac(legacyDigest(salt, pin)))
	}
}

// LegacyPINHash is the older unkeyed "s256$salt$digest" hash of pin with
// the salt given, which checkPIN still accepts and UpgradePINHashes turns
// into the keyed format at the service's next start: for the synthetic data
// set's generator (package seed) when it is given no key.
func LegacyPINHash(salt []byte, pin string) string {
	return pinHashLegacy + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(legacyDigest(salt, pin))
}

func legacyDigest(salt []byte, pin string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(pin))
	return h.Sum(nil)
}

func (k pinKeys) mac(digest []byte) []byte {
	m := hmac.New(sha256.New, k.hash)
	m.Write(digest)
	return m.Sum(nil)
}

// dummyPINHash is checked when there is no dossier, so an unknown code costs
// what a wrong PIN costs.
var dummyPINHash = pinHashV1 + "$" + strings.Repeat("00", 16) + "$" + strings.Repeat("00", 32)

// checkPIN compares a PIN with its stored hash in constant time.
func (k pinKeys) checkPIN(stored, pin string) bool {
	pinChecks.Add(1)
	parts := strings.Split(stored, "$")
	if len(parts) != 3 {
		return false
	}
	salt, err := hex.DecodeString(parts[1])
	if err != nil {
		return false
	}
	want, err := hex.DecodeString(parts[2])
	if err != nil {
		return false
	}
	digest := legacyDigest(salt, pin)
	switch parts[0] {
	case pinHashV1:
		return hmac.Equal(k.mac(digest), want)
	case pinHashLegacy:
		return subtle.ConstantTimeCompare(digest, want) == 1
	}
	return false
}

// upgradeLegacy turns an "s256" hash into an "h1" hash of the same PIN.
func (k pinKeys) upgradeLegacy(stored string) (string, bool) {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != pinHashLegacy {
		return "", false
	}
	digest, err := hex.DecodeString(parts[2])
	if err != nil || len(digest) != sha256.Size {
		return "", false
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return "", false
	}
	return pinHashV1 + "$" + parts[1] + "$" + hex.EncodeToString(k.mac(digest)), true
}

// Replay PINs: a retried intake shows its PIN again, so the PIN is kept with
// the Idempotency-Key for IdempotencyTTL, sealed with AES-GCM under a key
// derived from the service's secret and bound to its row (actor, key and
// dossier code as associated data).
const replayPrefix = "g1$"

func replayAD(actor, key, code string) []byte {
	return []byte(actor + "\x00" + key + "\x00" + code)
}

func (k pinKeys) sealReplay(pin, actor, key, code string) (string, error) {
	nonce := make([]byte, k.replay.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.replay.Seal(nonce, nonce, []byte(pin), replayAD(actor, key, code))
	return replayPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// openReplay returns the PIN kept with a key, "" when there is none or it
// cannot be opened (another secret, an old plain row).
func (k pinKeys) openReplay(sealed, actor, key, code string) string {
	if !strings.HasPrefix(sealed, replayPrefix) {
		return ""
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed[len(replayPrefix):])
	if err != nil || len(raw) < k.replay.NonceSize() {
		return ""
	}
	pt, err := k.replay.Open(nil, raw[:k.replay.NonceSize()], raw[k.replay.NonceSize():], replayAD(actor, key, code))
	if err != nil {
		return ""
	}
	return string(pt)
}

// ClientKey is the key of the per-address counters: an IPv4 address as it
// is, an IPv6 address by its /64 (one subscriber's allocation, which one
// guesser has whole).
func ClientKey(addr string) string {
	ip := net.ParseIP(strings.TrimSpace(addr))
	switch {
	case ip == nil:
		if addr == "" {
			return "unknown"
		}
		if len(addr) > 100 {
			addr = addr[:100]
		}
		return addr
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// attempt is one PIN check through the limits: the attempt is counted
// before the PIN is checked (atomic increments that return the counts), so
// concurrent guesses can never check more PINs than the limits allow, and
// an unknown code does the same work as a wrong PIN: the same statements
// and one PIN verification against a dummy hash. On success the attempt is
// given back in a later batch (giveback.go). found is false for an unknown
// code, a refused attempt and a wrong PIN alike.
func (s *Service) attempt(ctx context.Context, code, pin, client string) (head LookupHead, catalogue int64, found bool, err error) {
	lim := s.opts.PINLimits
	now := s.clock.Now()
	// Only attempts this address may make count towards the dossier's
	// ceiling, so one address alone cannot lock the dossier.
	a := PINAttempt{
		Now:       now,
		Client:    GuardCount{Scope: GuardClient, Key: client, WindowEnd: now.Add(lim.ClientWindow)},
		Pair:      GuardCount{Scope: GuardPair, Key: code + "|" + client, WindowEnd: now.Add(lim.PairWindow)},
		MaxClient: lim.PerClient, MaxPair: lim.PerClientDossier,
		Dossier: GuardCount{Scope: GuardDossier, Key: code, WindowEnd: now.Add(lim.DossierWindow)},
		Code:    code,
	}
	s.giveBacks.await(a.Pair.Key)
	r, err := s.store.AttemptLookup(ctx, a)
	if err != nil {
		return LookupHead{}, 0, false, err
	}
	allowed := r.Client <= lim.PerClient && r.Pair <= lim.PerClientDossier && r.Dossier > 0 && r.Dossier <= lim.PerDossier
	head, exists := r.Head, r.Found
	hash := dummyPINHash
	if exists {
		hash = head.PINHash
	}
	ok := s.keys.checkPIN(hash, pin)
	if !allowed || !exists || !ok {
		if exists && allowed {
			s.log.Debug("wrong look-up PIN", "code", code, "client", client)
		}
		return LookupHead{}, 0, false, nil
	}
	// The PIN was right: the attempt was not a failure. The pair and the
	// dossier lose what was counted up to this attempt (the holder of the
	// PIN is here); the address only gets its one attempt back, so knowing
	// one PIN does not reset it. The answer does not wait for it.
	if err := s.giveBacks.add(ctx, PINGiveBack{Client: a.Client, Pair: a.Pair, Dossier: a.Dossier,
		PairCount: r.Pair, DossierCount: r.Dossier}); err != nil {
		return LookupHead{}, 0, false, err
	}
	return head, r.Catalogue, true, nil
}

// UpgradePINHashes rewrites the dossiers' PIN hashes of the old "s256"
// format into "h1" (keyed) hashes of the same PINs, batch by batch, and
// returns how many it rewrote. Run at start; safe on several instances at
// once (each row is rewritten only from the hash it was read with).
func (s *Service) UpgradePINHashes(ctx context.Context) (int, error) {
	total := 0
	for {
		rows, err := s.store.LegacyPINHashes(ctx, 500)
		if err != nil || len(rows) == 0 {
			return total, err
		}
		next := make(map[int64][2]string, len(rows))
		for id, old := range rows {
			if h, ok := s.keys.upgradeLegacy(old); ok {
				next[id] = [2]string{old, h}
			}
		}
		if len(next) == 0 {
			return total, errors.New("pin hashes: unreadable old hashes left")
		}
		n, err := s.store.ReplacePINHashes(ctx, next)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// SweepIdempotencyKeys deletes the Idempotency-Keys (and the sealed PINs
// kept with them) older than IdempotencyTTL, and the attempt counters whose
// windows ended. Run every minute.
func (s *Service) SweepIdempotencyKeys(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	n, err := s.store.DeleteIdempotencyKeys(ctx, now.Add(-s.opts.IdempotencyTTL))
	if err != nil {
		return n, err
	}
	_, err = s.store.DeletePINGuards(ctx, now)
	return n, err
}

func (l PINLimits) withDefaults() PINLimits {
	d := DefaultPINLimits
	if l.PerClientDossier <= 0 {
		l.PerClientDossier = d.PerClientDossier
	}
	if l.PairWindow <= 0 {
		l.PairWindow = d.PairWindow
	}
	if l.PerClient <= 0 {
		l.PerClient = d.PerClient
	}
	if l.ClientWindow <= 0 {
		l.ClientWindow = d.ClientWindow
	}
	if l.PerDossier <= 0 {
		l.PerDossier = d.PerDossier
	}
	if l.DossierWindow <= 0 {
		l.DossierWindow = d.DossierWindow
	}
	return l
}
