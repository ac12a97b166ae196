package store_test

import (
	"context"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/migrations"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// schema is what must match across dialects: tables with their columns, and
// named indexes with their columns.
type schema struct {
	Columns map[string][]string
	Indexes map[string]string
}

func readSchema(t *testing.T, st *store.Store) schema {
	t.Helper()
	db := st.DB()
	s := schema{Columns: map[string][]string{}, Indexes: map[string]string{}}
	type col struct{ Table, Column string }
	var cols []col
	type idx struct{ Name, Table, Columns string }
	var idxs []idx
	if st.Dialect() == store.Postgres {
		if err := db.Raw(`SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Raw(`SELECT i.relname AS name, t.relname AS "table",
				string_agg(a.attname, ',' ORDER BY k.ord) AS columns
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
			WHERE n.nspname = current_schema() AND NOT x.indisprimary AND NOT x.indisunique AND t.relname <> 'goose_db_version'
			GROUP BY i.relname, t.relname`).Scan(&idxs).Error; err != nil {
			t.Fatal(err)
		}
	} else {
		var tables []string
		if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`).Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			var names []string
			if err := db.Raw(`SELECT name FROM pragma_table_info(?)`, tb).Scan(&names).Error; err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				cols = append(cols, col{tb, n})
			}
			var list []struct {
				Name   string
				Unique int
				Origin string
			}
			if err := db.Raw(`SELECT name, "unique", origin FROM pragma_index_list(?)`, tb).Scan(&list).Error; err != nil {
				t.Fatal(err)
			}
			for _, ix := range list {
				if ix.Origin != "c" || ix.Unique == 1 {
					continue
				}
				var ic []string
				if err := db.Raw(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.Name).Scan(&ic).Error; err != nil {
					t.Fatal(err)
				}
				idxs = append(idxs, idx{ix.Name, tb, strings.Join(ic, ",")})
			}
		}
	}
	for _, c := range cols {
		s.Columns[c.Table] = append(s.Columns[c.Table], c.Column)
	}
	for k := range s.Columns {
		sort.Strings(s.Columns[k])
	}
	for _, i := range idxs {
		s.Indexes[i.Name] = i.Table + "(" + i.Columns + ")"
	}
	return s
}

// TestDialectsHaveTheSameSchema proves both migration sets end with the same
// tables, columns and indexes.
func TestDialectsHaveTheSameSchema(t *testing.T) {
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("TEST_DATABASE_URL is not set: cannot compare with PostgreSQL")
	}
	lite := storetest.SQLite(t)
	a, b := readSchema(t, pg), readSchema(t, lite)
	if len(a.Columns) < 10 || len(a.Indexes) < 10 {
		t.Fatalf("schema read looks empty: %d tables, %d indexes", len(a.Columns), len(a.Indexes))
	}
	// The index of overdue_spans by validity and deadline is a GiST index
	// on a range expression and the deadline on PostgreSQL (the column query
	// above sees the deadline alone) and a B-tree on the validity's two ends
	// and the deadline on SQLite, which has no range type.
	for _, s := range []schema{a, b} {
		if _, ok := s.Indexes["overdue_spans_during_due_idx"]; !ok {
			t.Error("a dialect lacks overdue_spans_during_due_idx")
		}
		delete(s.Indexes, "overdue_spans_during_due_idx")
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("schemas differ (-postgres +sqlite):\n%s", diff)
	}
}

// TestMigrationVersionsMatch keeps the two folders in step.
func TestMigrationVersionsMatch(t *testing.T) {
	list := func(fsys fs.FS, dir string) []string {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	pg, lite := list(migrations.Postgres, "postgres"), list(migrations.SQLite, "sqlite")
	if len(pg) == 0 {
		t.Fatal("no migrations")
	}
	if diff := cmp.Diff(pg, lite); diff != "" {
		t.Errorf("migration files differ (-postgres +sqlite):\n%s", diff)
	}
}

func TestMigrateTwiceIsHarmless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// Every migration's Down section works: the schema rolled back to nothing
// and up again is the schema it was, and 00005's data move survives the
// round trip from its own Down (published events back in outbox) and Up
// (out again).
func TestMigrationsDownAndUpAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		want := readSchema(t, st)
		recs := queueEvents(t, st, "a", "b")
		if err := st.MarkPublished(ctx, []int64{recs[0].Seq}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := st.MigrateDownTo(ctx, 4); err != nil {
			t.Fatal(err)
		}
		var pending, published int64
		st.DB().Raw("SELECT count(*) FROM outbox WHERE published_at IS NULL").Scan(&pending)
		st.DB().Raw("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL").Scan(&published)
		if pending != 1 || published != 1 {
			t.Fatalf("at version 4: %d pending and %d published in outbox, want 1 and 1", pending, published)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if left, err := st.PendingEvents(ctx, 10); err != nil || len(left) != 1 || left[0].Seq != recs[1].Seq {
			t.Fatalf("pending after the round trip: %+v, %v", left, err)
		}
		if err := st.MigrateDownTo(ctx, 0); err != nil {
			t.Fatal(err)
		}
		var tables int64
		if st.Dialect() == store.Postgres {
			st.DB().Raw("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'").Scan(&tables)
		} else {
			st.DB().Raw("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN ('goose_db_version', 'sqlite_sequence')").Scan(&tables)
		}
		if tables != 0 {
			t.Errorf("%d tables left at version 0", tables)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, readSchema(t, st)); diff != "" {
			t.Errorf("schema after down and up (-before +after):\n%s", diff)
		}
	})
}
