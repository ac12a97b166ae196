package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// motcua migrate rolls back with --down-to and applies again without it; bad
// flags are refused. On SQLite under DATA_DIR.
func TestMigrateDownTo(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "error"}
	migrate := func(args ...string) error {
		return run(context.Background(), append([]string{"migrate"}, args...), envOf(env), io.Discard, io.Discard, nil)
	}
	version := func() int64 {
		st, err := store.Open(context.Background(), store.Options{DataDir: env["DATA_DIR"], Logger: storetest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var v int64
		if err := st.DB().Raw("SELECT max(version_id) FROM goose_db_version WHERE is_applied").Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := migrate(); err != nil {
		t.Fatal(err)
	}
	latest := version()
	if latest < 5 {
		t.Fatalf("version %d after migrate", latest)
	}
	if err := migrate("--down-to", "4"); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 4 {
		t.Fatalf("version %d after --down-to 4", v)
	}
	if err := migrate(); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != latest {
		t.Fatalf("version %d after migrating again, want %d", v, latest)
	}
	for _, bad := range [][]string{{"--down-to", "x"}, {"--down-to", "-2"}, {"extra"}} {
		if err := migrate(bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("migrate %v: %v, want a usage error", bad, err)
		}
	}
}
