package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
)

// Bulk loading of whole dossiers, for the synthetic data set of package seed
// (`motcua seed --dossiers N`, docs/benchmarks.md): the caller simulates each
// dossier's life through the domain and hands over the result; the store
// turns it into the rows the command transactions would have written
// (dossier, steps, pauses, history, hand-offs, overdue spans) and the
// roll-ups they would have moved (service quality per date and month,
// lateness per unit and officer, the open dossiers' state), and writes them
// without events (the outbox stays empty).
//
// PostgreSQL is filled with COPY, one connection per table, with the
// secondary indexes and foreign keys of the dossier tables dropped during the
// load and created again in Finish; SQLite with multi-row INSERTs in one
// transaction per batch.

// OverdueTrack follows a dossier's overdue states through its actions, as
// the command transactions keep them (writeSpans): the versions in force and
// those that ended overdue. Call Step after each change.
type OverdueTrack struct {
	open, spans []overdueSpanRow
}

// Step moves the versions to where d stands after a change at instant at.
func (o *OverdueTrack) Step(d *domain.Dossier, at time.Time) {
	closed, deleted, added := advanceSpans(o.open, spansOf(d, at), at)
	o.spans = append(o.spans, closed...)
	keep := o.open[:0]
	for _, x := range o.open {
		if !slices.ContainsFunc(closed, x.same) && !slices.ContainsFunc(deleted, x.same) {
			keep = append(keep, x)
		}
	}
	o.open = append(keep, added...)
}

// BulkBatch holds the rows of dossiers loaded together (a day of the
// synthetic data set), with ids counted from 1 within the batch: Write
// moves them past what is already written.
type BulkBatch struct {
	dossiers []dossierRow
	steps    []stepRow
	pauses   []pauseRow
	history  []historyRow
	handoffs []handoffRow
	open     []rollupOpenRow
	spans    []overdueSpanRow
}

// NewBulkBatch returns a batch with room for about n dossiers.
func NewBulkBatch(n int) *BulkBatch {
	return &BulkBatch{dossiers: make([]dossierRow, 0, n), steps: make([]stepRow, 0, n*3/2+8),
		history: make([]historyRow, 0, n*11/2+8), handoffs: make([]handoffRow, 0, n*5/2+8), pauses: make([]pauseRow, 0, n/8+8)}
}

// BulkCounts are the rows of a batch, per table.
type BulkCounts struct {
	Dossiers, Steps, Pauses, History, Handoffs, Open int
}

// Counts returns how many rows the batch holds.
func (b *BulkBatch) Counts() BulkCounts {
	return BulkCounts{Dossiers: len(b.dossiers), Steps: len(b.steps), Pauses: len(b.pauses), History: len(b.history),
		Handoffs: len(b.handoffs), Open: len(b.open)}
}

// BulkTally sums the roll-ups of the dossiers it adds to batches: one per
// goroutine, merged in Finish.
type BulkTally struct {
	// sums holds, per roll-up table (rollupTables' order), the counters by
	// (key << 32 | procedure index).
	sums [3]map[uint64]*domain.StatCounts
	// late holds the lateness roll-ups: [0] per date, [1] per month.
	late [2]map[lateKey]*lateCounts
	// score holds the scorecard's roll-ups, per table (scoreTables' order).
	score [2]map[scoreBulkKey]*domain.ScoreCounts
}

// scoreBulkKey is a ScoreKey with the procedure by its index.
type scoreBulkKey struct{ period, since, proc int }

// NewBulkTally returns an empty tally.
func NewBulkTally() *BulkTally {
	t := &BulkTally{}
	for i := range t.sums {
		t.sums[i] = map[uint64]*domain.StatCounts{}
	}
	for i := range t.late {
		t.late[i] = map[lateKey]*lateCounts{}
	}
	for i := range t.score {
		t.score[i] = map[scoreBulkKey]*domain.ScoreCounts{}
	}
	return t
}

// Add appends a simulated dossier's rows to b, with the overdue states
// spans followed, and counts its roll-ups. proc is the index of its
// procedure in the list NewBulkLoader was given. It sets d.ID to the
// dossier's id within the batch.
func (t *BulkTally) Add(b *BulkBatch, d *domain.Dossier, proc int, spans *OverdueTrack) {
	d.ID = int64(len(b.dossiers) + 1)
	for _, list := range [][]overdueSpanRow{spans.spans, spans.open} {
		for _, r := range list {
			r.DossierID = d.ID
			b.spans = append(b.spans, r)
		}
	}
	b.dossiers = append(b.dossiers, toDossierRow(d))
	for _, s := range d.Steps {
		b.steps = append(b.steps, toStepRow(d, s))
	}
	for _, p := range d.Pauses {
		p.ID = int64(len(b.pauses) + 1)
		b.pauses = append(b.pauses, toPauseRow(d.ID, p))
	}
	for _, h := range d.Handoffs {
		b.handoffs = append(b.handoffs, handoffRow{ID: int64(len(b.handoffs) + 1), DossierID: d.ID, StepSeq: h.StepSeq,
			FromUnit: h.FromUnit, ToUnit: h.ToUnit, At: ts(h.At), Verdict: string(h.Verdict), Actor: h.Actor, ActorName: h.ActorName,
			OverrunMinutes: h.OverrunMinutes})
	}
	t.lateness(d)
	t.history(b, d, proc)
}

// lateness counts the dossier's finished steps and, when its result was
// late, the dossier late by its first late step (as applyLateness does).
func (t *BulkTally) lateness(d *domain.Dossier) {
	ld := stepDeltas(d.Handoffs)
	if d.Verdict == domain.VerdictLate && d.ProcessedAt != nil {
		if h, ok := firstLate(d.Handoffs); ok {
			ld = append(ld, lateDelta{At: *d.ProcessedAt, Unit: h.FromUnit, Sub: h.Actor, c: lateCounts{Name: h.ActorName, DossiersLate: 1}})
		}
	}
	for _, x := range ld {
		for i, k := range []int{dayKey(x.At), dayKey(x.At) / 100} {
			key := lateKey{Key: k, Unit: x.Unit, Sub: x.Sub}
			c := t.late[i][key]
			if c == nil {
				c = &lateCounts{}
				t.late[i][key] = c
			}
			c.add(x.c)
		}
	}
}

// history appends the history lines and counts what each moves in the
// service-quality roll-ups (domain.StatStep), and the state an open
// dossier ends in.
func (t *BulkTally) history(b *BulkBatch, d *domain.Dossier, proc int) {
	facts := domain.StatFactsOf(d)
	var st *domain.StatState
	for _, h := range d.History {
		b.history = append(b.history, historyRow{ID: int64(len(b.history) + 1), DossierID: d.ID, At: ts(h.At), Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle,
			Action: string(h.Action), FromStatus: int(h.From), ToStatus: int(h.To), Note: h.Note, DueAt: tsp(h.DueAt),
			PromisedAt: tsp(h.PromisedAt), StepDueAt: tsp(h.StepDueAt)})
		next, ds := domain.StatStep(facts, st, h)
		t.scores(domain.ScoreStep(facts, st, next, h), proc)
		st = next
		for _, x := range ds {
			for i, rt := range rollupTables {
				bump(t.sums[i], uint64(rt.of(x.Day))<<32|uint64(proc), x)
				if rt.allTime {
					bump(t.sums[i], uint64(AllTime)<<32|uint64(proc), x)
				}
			}
		}
	}
	if st != nil {
		b.open = append(b.open, openRowOf(d.ID, st))
	}
}

// scores adds a history line's scorecard deltas, as Rollups.addScore does.
func (t *BulkTally) scores(ds []domain.ScoreDelta, proc int) {
	for _, x := range ds {
		for i, st := range scoreTables {
			k := scoreBulkKey{st.of(x.Day), st.of(x.Since), proc}
			c := t.score[i][k]
			if c == nil {
				c = &domain.ScoreCounts{}
				t.score[i][k] = c
			}
			c[x.Counter] += x.N
		}
	}
}

func bump(m map[uint64]*domain.StatCounts, k uint64, x domain.StatDelta) {
	c := m[k]
	if c == nil {
		c = &domain.StatCounts{}
		m[k] = c
	}
	c[x.Counter] += x.N
}

// Merge adds o into t; o must not be used after.
func (t *BulkTally) Merge(o *BulkTally) { t.merge([]*BulkTally{o}) }

// merge adds the other tallies into t.
func (t *BulkTally) merge(others []*BulkTally) {
	for _, o := range others {
		for i := range t.sums {
			for k, c := range o.sums[i] {
				if have := t.sums[i][k]; have != nil {
					have.Add(*c)
				} else {
					t.sums[i][k] = c
				}
			}
		}
		for i := range t.score {
			for k, c := range o.score[i] {
				if have := t.score[i][k]; have != nil {
					for j := range c {
						have[j] += c[j]
					}
				} else {
					t.score[i][k] = c
				}
			}
		}
		for i := range t.late {
			for k, c := range o.late[i] {
				if have := t.late[i][k]; have != nil {
					have.add(*c)
				} else {
					t.late[i][k] = c
				}
			}
		}
	}
}

// BulkLoader loads batches into a database that was not seeded before.
type BulkLoader struct {
	s     *Store
	procs []domain.Procedure
	sink  seedSink
	ids   seedIDs
}

// seedIDs are the last ids written.
type seedIDs struct{ dossier, pause, history, handoff int64 }

// NewBulkLoader writes the catalogue (agencies, then procedures) in one
// transaction and readies the dossier tables for a bulk load. It refuses a
// database that already has the catalogue's first agency (seeded before):
// the dossier codes of the catalogue's units cannot collide with earlier
// ones. Call Abort, or Close and Finish, after it.
func (s *Store) NewBulkLoader(ctx context.Context, agencies []domain.Agency, procs []domain.Procedure) (*BulkLoader, error) {
	if len(agencies) == 0 {
		return nil, fmt.Errorf("store: bulk load: no agencies")
	}
	var exists int64
	if err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM agencies WHERE code = ?", agencies[0].Code).Scan(&exists).Error; err != nil {
		return nil, translate(err, "agencies")
	}
	if exists > 0 {
		return nil, fmt.Errorf("store: seed: agency %s exists: this database was seeded already", agencies[0].Code)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gormDB) error {
		q := queries{db: tx, dialect: s.dialect}
		for _, a := range agencies {
			if err := q.SaveAgency(ctx, a); err != nil {
				return err
			}
		}
		for _, p := range procs {
			if err := q.SaveProcedure(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &BulkLoader{s: s, procs: procs}
	for _, t := range []struct {
		table string
		dst   *int64
	}{{"dossiers", &l.ids.dossier}, {"dossier_pauses", &l.ids.pause}, {"dossier_history", &l.ids.history}, {"dossier_handoffs", &l.ids.handoff}} {
		if err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM " + t.table).Scan(t.dst).Error; err != nil {
			return nil, translate(err, t.table)
		}
	}
	if l.sink, err = s.newSeedSink(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Write loads a batch (its ids moved past those written before); batches
// are written in the order of the calls.
func (l *BulkLoader) Write(ctx context.Context, b *BulkBatch) error {
	b.offset(&l.ids)
	return l.sink.write(ctx, b)
}

// Close waits for the batches written to be loaded.
func (l *BulkLoader) Close(ctx context.Context) error { return l.sink.close(ctx) }

// Abort stops a load that failed, putting back what it dropped.
func (l *BulkLoader) Abort() { l.sink.abort() }

// BulkSequence is the last dossier sequence number a unit gave on a date
// (the dossier_sequences row the next intake counts from).
type BulkSequence struct {
	AgencyCode string
	Day        string // YYMMDD, as in the dossier code
	Last       int64
}

// BulkRollups says how many roll-up rows Finish wrote.
type BulkRollups struct{ Daily, Monthly int }

// Finish writes the roll-ups of the tallies (merged) and the sequences,
// puts back the indexes and constraints the load dropped, moves the id
// sequences past the loaded ids and refreshes the planner's statistics.
func (l *BulkLoader) Finish(ctx context.Context, tallies []*BulkTally, seqs []BulkSequence) (BulkRollups, error) {
	var res BulkRollups
	if len(tallies) == 0 {
		tallies = []*BulkTally{NewBulkTally()}
	}
	sum := tallies[0]
	sum.merge(tallies[1:])
	jobs, counts := l.statJobs(sum)
	res.Daily, res.Monthly = counts[0], counts[1]
	jobs = append(jobs, l.latenessJobs(sum)...)
	jobs = append(jobs, l.scoreJobs(sum)...)
	seqRows := make([][]any, 0, len(seqs))
	for _, q := range seqs {
		seqRows = append(seqRows, []any{q.AgencyCode, q.Day, q.Last})
	}
	jobs = append(jobs, seedJob{name: "copy dossier_sequences", run: func(ctx context.Context, _ *sql.Conn) error {
		return l.s.bulkInsert(ctx, "dossier_sequences", []string{"agency_code", "day", "last_seq"}, seqRows)
	}})
	return res, l.sink.finish(ctx, jobs)
}

// seedRollupRow is one roll-up row to write.
type seedRollupRow struct {
	key               int
	agency, procedure string
	c                 domain.StatCounts
}

// statJobs are the jobs writing the service-quality roll-ups, and the rows
// of each table.
func (l *BulkLoader) statJobs(sum *BulkTally) ([]seedJob, []int) {
	var jobs []seedJob
	var counts []int
	for i, t := range rollupTables {
		rows := make([]seedRollupRow, 0, len(sum.sums[i]))
		for k, c := range sum.sums[i] {
			if *c != (domain.StatCounts{}) {
				p := &l.procs[k&0xffffffff]
				rows = append(rows, seedRollupRow{key: int(k >> 32), agency: p.AgencyCode, procedure: p.Code, c: *c})
			}
		}
		// In key order, so a day's or a month's rows lie together on disk.
		slices.SortFunc(rows, func(a, b seedRollupRow) int {
			if a.key != b.key {
				return a.key - b.key
			}
			return strings.Compare(a.procedure, b.procedure)
		})
		counts = append(counts, len(rows))
		cols := append([]string{t.key, "agency_code", "procedure_code"}, statColumns...)
		jobs = append(jobs, seedJob{name: "copy " + t.table, run: func(ctx context.Context, _ *sql.Conn) error {
			return l.s.bulkInsertSeq(ctx, t.table, cols, func(yield func([]any) bool) {
				buf := make([]any, 0, len(cols))
				for i := range rows {
					r := &rows[i]
					buf = append(buf[:0], &r.key, &r.agency, &r.procedure)
					for j := range r.c {
						buf = append(buf, &r.c[j])
					}
					if !yield(buf) {
						return
					}
				}
			})
		}})
	}
	return jobs, counts
}

// scoreJobs are the jobs writing the scorecard's roll-ups (migration 00016).
func (l *BulkLoader) scoreJobs(sum *BulkTally) []seedJob {
	var jobs []seedJob
	cols := append([]string{"month", "since", "agency_code", "procedure_code"}, scoreColumns...)
	for i, t := range scoreTables {
		rows := make([][]any, 0, len(sum.score[i]))
		for k, c := range sum.score[i] {
			if *c == (domain.ScoreCounts{}) {
				continue
			}
			p := &l.procs[k.proc]
			row := []any{k.period, k.since, p.AgencyCode, p.Code}
			for _, n := range c {
				row = append(row, n)
			}
			rows = append(rows, row)
		}
		jobs = append(jobs, seedJob{name: "copy " + t.table, run: func(ctx context.Context, _ *sql.Conn) error {
			return l.s.bulkInsert(ctx, t.table, cols, rows)
		}})
	}
	return jobs
}

// latenessJobs are the jobs writing the lateness roll-ups.
func (l *BulkLoader) latenessJobs(sum *BulkTally) []seedJob {
	var jobs []seedJob
	for i, t := range []struct{ table, key string }{{"lateness_daily", "day"}, {"lateness_monthly", "month"}} {
		rows := make([][]any, 0, len(sum.late[i]))
		for k, c := range sum.late[i] {
			rows = append(rows, []any{k.Key, k.Unit, k.Sub, c.Name, c.Steps, c.Early, c.OnTime, c.Late, c.LateMinutes, c.DossiersLate})
		}
		cols := []string{t.key, "unit_code", "actor", "actor_name", "steps", "early", "on_time", "late", "late_minutes", "dossiers_late"}
		jobs = append(jobs, seedJob{name: "copy " + t.table, run: func(ctx context.Context, _ *sql.Conn) error {
			return l.s.bulkInsert(ctx, t.table, cols, rows)
		}})
	}
	return jobs
}

// offset moves the batch's ids past those already written.
func (b *BulkBatch) offset(ids *seedIDs) {
	for i := range b.dossiers {
		b.dossiers[i].ID += ids.dossier
	}
	for i := range b.steps {
		b.steps[i].DossierID += ids.dossier
	}
	for i := range b.pauses {
		b.pauses[i].ID += ids.pause
		b.pauses[i].DossierID += ids.dossier
	}
	for i := range b.history {
		b.history[i].ID += ids.history
		b.history[i].DossierID += ids.dossier
	}
	for i := range b.handoffs {
		b.handoffs[i].ID += ids.handoff
		b.handoffs[i].DossierID += ids.dossier
	}
	for i := range b.open {
		b.open[i].DossierID += ids.dossier
	}
	for i := range b.spans {
		b.spans[i].DossierID += ids.dossier
	}
	ids.dossier += int64(len(b.dossiers))
	ids.pause += int64(len(b.pauses))
	ids.history += int64(len(b.history))
	ids.handoff += int64(len(b.handoffs))
}
