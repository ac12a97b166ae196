package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

type gormDB = gorm.DB

// seedSink takes the seed's batches, a day at a time.
type seedSink interface {
	write(ctx context.Context, b *BulkBatch) error
	// close ends the bulk load; finish puts the indexes back.
	close(ctx context.Context) error
	finish(ctx context.Context, extra []seedJob) error
	abort()
}

func (s *Store) newSeedSink(ctx context.Context) (seedSink, error) {
	if s.dialect != Postgres {
		return &liteSink{s: s}, nil
	}
	p := &pgSink{s: s}
	// The tables load on separate connections, so the children may commit
	// before their dossiers: the foreign keys go during the load, and the
	// indexes with them.
	if err := p.dropIndexes(ctx); err != nil {
		return nil, err
	}
	for _, t := range seedTables {
		ch := make(chan *BulkBatch, 2)
		p.chans = append(p.chans, ch)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := s.copyRows(ctx, t.name, t.cols, func(yield func([]any) bool) {
				buf := make([]any, 0, len(t.cols))
				for b := range ch {
					for i := range t.n(b) {
						if !yield(t.row(b, i, buf)) {
							for range ch { // drain, so the writer never blocks
							}
							return
						}
					}
				}
			})
			if err != nil {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Errorf("store: seed %s: %w", t.name, err))
				p.mu.Unlock()
			}
		}()
	}
	return p, nil
}

// pgSink streams each table through its own COPY on its own connection.
type pgSink struct {
	s       *Store
	chans   []chan *BulkBatch
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	closed  bool
	restore []string // statements that put dropped indexes and constraints back
}

func (p *pgSink) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

func (p *pgSink) write(ctx context.Context, b *BulkBatch) error {
	if err := p.err(); err != nil {
		return err
	}
	for i := range seedTables {
		select {
		case p.chans[i] <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *pgSink) close(ctx context.Context) error {
	if !p.closed {
		p.closed = true
		for _, ch := range p.chans {
			close(ch)
		}
		p.wg.Wait()
	}
	return p.err()
}

func (p *pgSink) abort() {
	_ = p.close(context.Background())
	_ = p.finish(context.Background(), nil)
}

// dropIndexes drops the secondary indexes, unique constraints and foreign
// keys of the dossier tables (a bulk load into bare tables and one index
// build afterwards is several times faster), keeping their definitions.
func (p *pgSink) dropIndexes(ctx context.Context) error {
	db := p.s.db.WithContext(ctx)
	tables := []string{"dossiers", "dossier_steps", "dossier_pauses", "dossier_history", "dossier_handoffs", "rollup_open", "overdue_spans"}
	var cons []struct{ Table, Name, Def string }
	err := db.Raw(`SELECT t.relname AS "table", c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname IN ? AND c.contype IN ('f', 'u')
		AND t.relnamespace = current_schema()::regnamespace ORDER BY c.contype DESC`, tables).Scan(&cons).Error
	if err != nil {
		return translate(err, "constraints")
	}
	var idx []struct{ Name, Def string }
	err = db.Raw(`SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname IN ? AND NOT x.indisprimary
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
		AND t.relnamespace = current_schema()::regnamespace`, tables).Scan(&idx).Error
	if err != nil {
		return translate(err, "indexes")
	}
	for _, c := range cons {
		if err := db.Exec(fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", c.Table, c.Name)).Error; err != nil {
			return translate(err, "drop constraint")
		}
	}
	for _, i := range idx {
		if err := db.Exec("DROP INDEX " + i.Name).Error; err != nil {
			return translate(err, "drop index")
		}
		p.restore = append(p.restore, i.Def)
	}
	// Put back in the reverse order of the drop.
	for i := len(cons) - 1; i >= 0; i-- {
		c := cons[i]
		p.restore = append(p.restore, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", c.Table, c.Name, c.Def))
	}
	return nil
}

// seedJob is one piece of the work after the load.
type seedJob struct {
	name string
	run  func(ctx context.Context, conn *sql.Conn) error
}

// runJobs runs jobs on n connections of their own, in order of start.
func (s *Store) runJobs(ctx context.Context, n int, jobs []seedJob) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := s.sqlDB.Conn(ctx)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer conn.Close()
			if s.dialect == Postgres {
				_, _ = conn.ExecContext(ctx, "SET maintenance_work_mem = '256MB'")
			}
			for {
				mu.Lock()
				if next >= len(jobs) {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				t := time.Now()
				if err := j.run(ctx, conn); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
					mu.Unlock()
				}
				s.log.Debug("seed: done", "job", j.name, "took", time.Since(t).Round(time.Millisecond).String())
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func execJob(name, stmt string) seedJob {
	return seedJob{name: name, run: func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, stmt)
		return err
	}}
}

// finish runs the extra jobs (the roll-ups) alongside recreating what
// dropIndexes dropped, two at a time, then moves the id sequences past the
// seeded ids and refreshes the statistics.
func (p *pgSink) finish(ctx context.Context, extra []seedJob) error {
	jobs := append([]seedJob{}, extra...)
	var constraints []seedJob
	for _, st := range p.restore {
		name := st
		if i := strings.Index(st, " ON "); i > 0 {
			name = st[:i]
		}
		if strings.HasPrefix(st, "ALTER TABLE") {
			constraints = append(constraints, execJob(name, st))
		} else {
			jobs = append(jobs, execJob(name, st))
		}
	}
	p.restore = nil
	err := p.s.runJobs(ctx, 2, append(jobs, constraints...))
	var after []seedJob
	for _, t := range []string{"dossiers", "dossier_pauses", "dossier_history", "dossier_handoffs"} {
		after = append(after, execJob("sequence of "+t,
			fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), GREATEST((SELECT MAX(id) FROM %[1]s), 1))", t)))
	}
	for _, t := range []string{"dossiers", "dossier_history", "dossier_handoffs", "dossier_steps", "dossier_pauses", "rollup_daily",
		"rollup_monthly", "rollup_stat_monthly", "score_monthly", "score_stat_monthly", "rollup_open", "dossier_sequences", "agencies", "procedures", "procedure_versions"} {
		after = append(after, execJob("analyze "+t, "ANALYZE "+t))
	}
	return errors.Join(err, p.s.runJobs(ctx, 2, after))
}

// copyRows streams rows into a table with COPY on one connection.
func (s *Store) copyRows(ctx context.Context, table string, cols []string, rows iter.Seq[[]any]) error {
	return withPgx(ctx, s.sqlDB, "COPY", func(pc *pgx.Conn) error {
		next, stop := iter.Pull(rows)
		defer stop()
		_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, cols, &pullSource{next: next})
		return err
	})
}

// withPgx runs fn on one of the pool's pgx connections, for what
// database/sql cannot say (COPY, LISTEN, a pipeline of queries); what names
// the use in the error when the driver is not pgx.
func withPgx(ctx context.Context, pool *sql.DB, what string, fn func(pc *pgx.Conn) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return onPgx(conn, what, fn)
}

// onPgx runs fn on conn's pgx connection: a transaction open on conn goes
// on there (store.InTx).
func onPgx(conn *sql.Conn, what string, fn func(pc *pgx.Conn) error) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: %s needs the pgx driver, got %T", what, dc)
		}
		return fn(sc.Conn())
	})
}

// pullSource adapts a pulled iterator to pgx.CopyFromSource.
type pullSource struct {
	next func() ([]any, bool)
	row  []any
}

func (p *pullSource) Next() bool {
	r, ok := p.next()
	p.row = r
	return ok
}
func (p *pullSource) Values() ([]any, error) { return p.row, nil }
func (p *pullSource) Err() error             { return nil }

// liteSink writes each day's batch in one SQLite transaction.
type liteSink struct{ s *Store }

func (l *liteSink) write(ctx context.Context, b *BulkBatch) error {
	return l.s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		for _, t := range seedTables {
			rows := make([][]any, t.n(b))
			for i := range rows {
				rows[i] = t.row(b, i, nil)
			}
			if err := insertRows(ctx, g, t.name, t.cols, rows); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *liteSink) close(context.Context) error { return nil }
func (l *liteSink) finish(ctx context.Context, extra []seedJob) error {
	return l.s.runJobs(ctx, 1, extra)
}
func (l *liteSink) abort() {}

// insertRows writes rows with multi-row INSERTs under SQLite's limit on
// statement parameters.
func insertRows(ctx context.Context, g *gorm.DB, table string, cols []string, rows [][]any) error {
	per := max(1, 30000/len(cols))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for start := 0; start < len(rows); start += per {
		part := rows[start:min(start+per, len(rows))]
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, len(part)*len(cols))
		for i, r := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(tuple)
			args = append(args, r...)
		}
		if err := g.WithContext(ctx).Exec(sb.String(), args...).Error; err != nil {
			return translate(err, table)
		}
	}
	return nil
}

var (
	seedDossierCols = []string{"id", "code", "agency_code", "lead_agency_code", "procedure_code", "procedure_version",
		"supplement_clock", "channel", "delivery", "status", "applicant_name", "applicant_id_number", "applicant_phone",
		"applicant_email", "applicant_address", "documents", "pin_hash", "pin_failures", "pin_locked_until", "received_at",
		"counting_from", "budget_minutes", "used_minutes", "running_since", "due_at", "original_due_at", "promised_at",
		"extension_reason", "extended_at", "extension_late", "result", "verdict", "processed_at", "returned_at", "return_method",
		"closed_at", "current_step", "holder_code", "next_deadline_at", "rating", "rating_comment", "rated_at", "version",
		"created_at", "updated_at", "overdue_from"}
	seedStepCols    = []string{"dossier_id", "seq", "name", "agency_code", "allotted_minutes", "used_minutes", "running_since", "started_at", "due_at", "finished_at", "verdict", "overdue_from"}
	seedPauseCols   = []string{"id", "dossier_id", "kind", "clock", "reason", "items", "amount", "started_at", "ended_at", "method"}
	seedHistoryCols = []string{"id", "dossier_id", "at", "actor", "actor_name", "actor_title", "action", "from_status", "to_status", "note", "due_at", "promised_at", "step_due_at"}
	seedHandoffCols = []string{"id", "dossier_id", "step_seq", "from_unit", "to_unit", "at", "verdict", "actor", "actor_name", "overrun_minutes"}
	seedOpenCols    = []string{"dossier_id", "since", "paused", "due_at", "received_at", "supplements"}
	seedSpanCols    = []string{"dossier_id", "kind", "step_seq", "step_name", "valid_from", "valid_to", "overdue_from", "status",
		"holder_code", "lead_agency_code", "agency_code", "procedure_code"}
)

// seedTable is a table a day's batch fills: its columns, and each row's
// values as pointers into the batch (no copy, no boxing).
type seedTable struct {
	name string
	cols []string
	n    func(b *BulkBatch) int
	row  func(b *BulkBatch, i int, buf []any) []any
}

var seedTables = []seedTable{
	{"dossiers", seedDossierCols, func(b *BulkBatch) int { return len(b.dossiers) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.dossiers[i]
		return append(buf[:0], &r.ID, &r.Code, &r.AgencyCode, &r.LeadAgencyCode, &r.ProcedureCode, &r.ProcedureVersion,
			&r.SupplementClock, &r.Channel, &r.Delivery, &r.Status, &r.ApplicantName, &r.ApplicantIDNumber, &r.ApplicantPhone,
			&r.ApplicantEmail, &r.ApplicantAddress, &r.Documents, &r.PINHash, &r.PINFailures, r.PINLockedUntil, &r.ReceivedAt,
			r.CountingFrom, &r.BudgetMinutes, &r.UsedMinutes, r.RunningSince, r.DueAt, r.OriginalDueAt, r.PromisedAt,
			r.ExtensionReason, r.ExtendedAt, r.ExtensionLate, r.Result, &r.Verdict, r.ProcessedAt, r.ReturnedAt, r.ReturnMethod,
			r.ClosedAt, &r.CurrentStep, &r.HolderCode, r.NextDeadlineAt, r.Rating, r.RatingComment, r.RatedAt, &r.Version,
			&r.CreatedAt, &r.UpdatedAt, r.OverdueFrom)
	}},
	{"dossier_steps", seedStepCols, func(b *BulkBatch) int { return len(b.steps) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.steps[i]
		return append(buf[:0], &r.DossierID, &r.Seq, &r.Name, &r.AgencyCode, &r.AllottedMinutes, &r.UsedMinutes, r.RunningSince,
			r.StartedAt, r.DueAt, r.FinishedAt, &r.Verdict, r.OverdueFrom)
	}},
	{"dossier_pauses", seedPauseCols, func(b *BulkBatch) int { return len(b.pauses) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.pauses[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.Kind, &r.Clock, &r.Reason, &r.Items, &r.Amount, &r.StartedAt, r.EndedAt, &r.Method)
	}},
	{"dossier_history", seedHistoryCols, func(b *BulkBatch) int { return len(b.history) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.history[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.At, &r.Actor, &r.ActorName, &r.ActorTitle, &r.Action, &r.FromStatus, &r.ToStatus, &r.Note, r.DueAt,
			r.PromisedAt, r.StepDueAt)
	}},
	{"dossier_handoffs", seedHandoffCols, func(b *BulkBatch) int { return len(b.handoffs) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.handoffs[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.StepSeq, &r.FromUnit, &r.ToUnit, &r.At, &r.Verdict, &r.Actor, &r.ActorName, &r.OverrunMinutes)
	}},
	{"rollup_open", seedOpenCols, func(b *BulkBatch) int { return len(b.open) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.open[i]
		return append(buf[:0], &r.DossierID, &r.Since, &r.Paused, r.DueAt, r.ReceivedAt, &r.Supplements)
	}},
	{"overdue_spans", seedSpanCols, func(b *BulkBatch) int { return len(b.spans) }, func(b *BulkBatch, i int, buf []any) []any {
		r := &b.spans[i]
		return append(buf[:0], &r.DossierID, &r.Kind, &r.StepSeq, &r.StepName, &r.ValidFrom, r.ValidTo, &r.OverdueFrom, &r.Status,
			&r.HolderCode, &r.LeadAgencyCode, &r.AgencyCode, &r.ProcedureCode)
	}},
}

// bulkInsert writes rows into a table: COPY on PostgreSQL, multi-row INSERTs
// on SQLite.
func (s *Store) bulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		return s.copyRows(ctx, table, cols, slices.Values(rows))
	}
	return s.db.WithContext(ctx).Transaction(func(g *gormDB) error {
		return insertRows(ctx, g, table, cols, rows)
	})
}

// bulkInsertSeq writes the rows a sequence yields (each a slice the
// sequence may reuse, of pointers into storage that stays put).
func (s *Store) bulkInsertSeq(ctx context.Context, table string, cols []string, rows iter.Seq[[]any]) error {
	if s.dialect == Postgres {
		return s.copyRows(ctx, table, cols, rows)
	}
	var all [][]any
	for r := range rows {
		all = append(all, slices.Clone(r))
	}
	return s.bulkInsert(ctx, table, cols, all)
}
