package auth_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/motcua/motcua/auth"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "nested")
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 64 {
		t.Fatalf("key is %d bytes, want 64", len(key))
	}
	fi, err := os.Stat(filepath.Join(dir, auth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("key file mode %o, want 600", m)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Fatalf("data dir mode %o, want 700", m)
	}
	again, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, again) {
		t.Fatal("second call returned a different key")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want only %s", len(entries), auth.KeyFile)
	}
	if _, err := auth.NewHS256(key, auth.Options{}); err != nil {
		t.Fatalf("generated key unusable: %v", err)
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	const n = 20
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = auth.LoadOrCreateKey(dir)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("call %d got a different key", i)
		}
	}
	onDisk, err := auth.LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(onDisk, keys[0]) {
		t.Fatalf("key on disk differs from the returned one (err %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want no temporary files left", len(entries))
	}
}

func TestLoadOrCreateKeyExisting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		wantLen int // 0 means an error is expected
	}{
		{"operator hex key", strings.Repeat("ab", 32) + "\n", 32},
		{"not hex", strings.Repeat("z", 64), 0},
		{"too short", strings.Repeat("ab", 31), 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, auth.KeyFile), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := auth.LoadOrCreateKey(dir)
			if tt.wantLen == 0 {
				if err == nil {
					t.Fatal("LoadOrCreateKey accepted a bad key file")
				}
				return
			}
			if err != nil || len(key) != tt.wantLen {
				t.Fatalf("LoadOrCreateKey = %d bytes, %v; want %d bytes", len(key), err, tt.wantLen)
			}
		})
	}
}
