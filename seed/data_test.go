package seed_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/seed"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestSeedReproducible seeds fresh databases with the same options twice
// and once with another random seed: the first two hold the same data
// (dossiers, history, sequences, roll-ups), the third other data.
func TestSeedReproducible(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		fresh := func() *store.Store {
			if st.Dialect() == store.Postgres {
				return storetest.Postgres(t)
			}
			return storetest.SQLite(t)
		}
		now := time.Date(2026, 11, 20, 10, 0, 0, 0, domain.Vietnam())
		o := seed.Options{Dossiers: 1500, Months: 2, Now: now, Seed: 11, Logger: storetest.Quiet()}
		var sums [3]dataSums
		for i, db := range []*store.Store{st, fresh(), fresh()} {
			if i == 2 {
				o.Seed = 12
			}
			res, err := seed.Run(ctx, db, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Dossiers < 1400 {
				t.Fatalf("seed %d: %d dossiers", o.Seed, res.Dossiers)
			}
			sums[i] = sumsOf(t, db)
		}
		if diff := cmp.Diff(sums[0], sums[1], cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("the same options gave other data (-first +second):\n%s", diff)
		}
		if sums[0].Dossiers == sums[2].Dossiers || sums[0].History == sums[2].History {
			t.Fatalf("another random seed gave the same dossiers or history: %s %s", sums[0].Dossiers, sums[0].History)
		}
	})
}

// dataSums are a seeded database's tables, each as its row count and a
// hash of its rows in a fixed order.
type dataSums struct {
	Dossiers, History, Sequences string
	Rollups                      store.Rollups
}

func sumsOf(t *testing.T, st *store.Store) dataSums {
	t.Helper()
	hash := func(q string) string {
		rows, err := st.DB().Raw(q).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		h, n := sha256.New(), 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(h, "%v\x1f", v)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d rows %x", n, h.Sum(nil))
	}
	r, err := st.Rollups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dataSums{
		Dossiers: hash(`SELECT code, agency_code, procedure_code, channel, delivery, status, applicant_name, applicant_id_number,
			pin_hash, received_at, due_at, processed_at, returned_at, verdict, current_step, holder_code FROM dossiers ORDER BY code`),
		History: hash(`SELECT d.code, h.at, h.actor, h.action, h.from_status, h.to_status, h.note FROM dossier_history h
			JOIN dossiers d ON d.id = h.dossier_id ORDER BY d.code, h.id`),
		Sequences: hash(`SELECT agency_code, day, last_seq FROM dossier_sequences ORDER BY agency_code, day`),
		Rollups:   r,
	}
}

// TestSeededData checks what the seeded dossiers say about themselves:
// the status is where the last history line went, a late verdict means
// processed after the deadline (on time, by it), the sequence numbers of a
// unit's codes on a day run from 1 without a gap, and the unit's sequence
// row for the day (where the next intake counts on from) holds the last.
func TestSeededData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 20, 10, 0, 0, 0, domain.Vietnam())
		res, err := seed.Run(ctx, st, seed.Options{Dossiers: 2500, Months: 3, Now: now, Seed: 5, Logger: storetest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Late == 0 || res.OpenDossiers == 0 {
			t.Fatalf("thin data: %+v", res)
		}
		count := func(what, q string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := st.DB().Raw(q, args...).Scan(&n).Error; err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return n
		}
		if n := count("status", `SELECT COUNT(*) FROM dossiers d WHERE d.status <> (SELECT h.to_status FROM dossier_history h
			WHERE h.dossier_id = d.id ORDER BY h.id DESC LIMIT 1)`); n != 0 {
			t.Errorf("%d dossiers whose status is not where their last history line went", n)
		}
		if n := count("no history", `SELECT COUNT(*) FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM dossier_history h WHERE h.dossier_id = d.id)`); n != 0 {
			t.Errorf("%d dossiers without history", n)
		}
		late := count("late", `SELECT COUNT(*) FROM dossiers WHERE verdict = ?`, string(domain.VerdictLate))
		if late != res.Late {
			t.Errorf("%d late dossiers, the seed says %d", late, res.Late)
		}
		if n := count("late", `SELECT COUNT(*) FROM dossiers WHERE verdict = ? AND NOT (processed_at > due_at)`, string(domain.VerdictLate)); n != 0 {
			t.Errorf("%d late dossiers processed by their deadline", n)
		}
		if n := count("on time", `SELECT COUNT(*) FROM dossiers WHERE verdict = ? AND processed_at > due_at`, string(domain.VerdictOnTime)); n != 0 {
			t.Errorf("%d dossiers on time processed after their deadline", n)
		}
		var codes []string
		if err := st.DB().Raw("SELECT code FROM dossiers").Scan(&codes).Error; err != nil {
			t.Fatal(err)
		}
		seqs := map[string][]bool{} // unit and day -> sequence numbers seen
		for _, c := range codes {
			agency, day, seq, ok := domain.ParseDossierCode(c)
			if !ok || seq < 1 {
				t.Fatalf("dossier code %q", c)
			}
			k := agency + " " + day.Format("060102")
			for int64(len(seqs[k])) < seq {
				seqs[k] = append(seqs[k], false)
			}
			if seqs[k][seq-1] {
				t.Fatalf("dossier code %q twice", c)
			}
			seqs[k][seq-1] = true
		}
		var kept []store.BulkSequence
		if err := st.DB().Raw("SELECT agency_code, day, last_seq AS last FROM dossier_sequences").Scan(&kept).Error; err != nil {
			t.Fatal(err)
		}
		if len(kept) != len(seqs) {
			t.Errorf("%d sequence rows for %d units and days", len(kept), len(seqs))
		}
		for _, q := range kept {
			seen := seqs[q.AgencyCode+" "+q.Day]
			if int64(len(seen)) != q.Last {
				t.Errorf("%s on %s: last sequence %d, the codes go to %d", q.AgencyCode, q.Day, q.Last, len(seen))
			}
			for i, ok := range seen {
				if !ok {
					t.Errorf("%s on %s: no dossier number %d", q.AgencyCode, q.Day, i+1)
				}
			}
		}
	})
}
