package service

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"strings"
)

// pinDigits is the length of a look-up PIN: short enough to type on a phone;
// guessing is stopped by the per-dossier lock-out, not by the length.
const pinDigits = 8

// newPIN returns a random numeric PIN.
func newPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	s := n.String()
	return strings.Repeat("0", pinDigits-len(s)) + s, nil
}

// hashPIN stores a PIN as a salted SHA-256. A slow password hash would cost
// every citizen look-up tens of milliseconds; the PIN only unlocks a view
// without personal data, and online guessing is stopped by the lock-out.
func hashPIN(pin string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return "s256$" + hex.EncodeToString(salt) + "$" + pinDigest(salt, pin), nil
}

func pinDigest(salt []byte, pin string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(pin))
	return hex.EncodeToString(h.Sum(nil))
}

// checkPIN compares a PIN with its stored hash in constant time.
func checkPIN(stored, pin string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != "s256" {
		return false
	}
	salt, err := hex.DecodeString(parts[1])
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(pinDigest(salt, pin)), []byte(parts[2])) == 1
}
