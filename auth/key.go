package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the service's own HS256 key under the data directory.
const KeyFile = "jwt.key"

// newKeyLen is the size of a generated key: 512 bits, the HMAC-SHA256 block
// size, so no key bits are lost to hashing.
const newKeyLen = 64

// LoadOrCreateKey returns the service's own HS256 key from <dataDir>/jwt.key,
// creating it on first use, so tokens from `motcua token` stay valid across
// restarts without any configuration.
//
// The file holds the key hex-encoded (surrounding whitespace ignored) and
// must decode to at least 32 bytes; an operator can write one with
// `openssl rand -hex 64 > jwt.key`. A new key is 64 random bytes, written
// with mode 0600 (the directory is created 0700 if missing). Concurrent first
// calls, also from several processes, agree on one key: each writes a
// complete temporary file and hard-links it into place, which fails if the
// file already exists, and the losers read the winner's file. This needs a
// file system with hard links.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	if dataDir == "" {
		return nil, errors.New("auth: data directory is empty")
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create data directory: %w", err)
	}
	key = make([]byte, newKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("auth: generate key: %w", err)
	}
	if err := writeOnce(path, []byte(hex.EncodeToString(key)+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path) // another caller won the race
		}
		return nil, fmt.Errorf("auth: write %s: %w", path, err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: read key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("auth: %s is not hex-encoded", path)
	}
	if len(key) < MinSecretLen {
		return nil, fmt.Errorf("auth: %s holds %d bytes, need at least %d", path, len(key), MinSecretLen)
	}
	return key, nil
}

// writeOnce creates path with data, or fails with fs.ErrExist. The file
// appears complete or not at all, so a concurrent reader never sees half a key.
func writeOnce(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), KeyFile+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
