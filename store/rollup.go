package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
)

// The roll-ups behind the service-quality report (docs/reports.md): the
// counters of domain.StatStep per local date and per month, lead agency and
// procedure, kept in the transaction that changes the dossier, and the state
// of each open dossier (rollup_open) that the next change starts from.

// rollupOpenRow is where an open dossier stands for the roll-ups.
type rollupOpenRow struct {
	DossierID int64 `gorm:"primaryKey"`
	Since     time.Time
	Paused    bool
	DueAt     *time.Time
	// ReceivedAt and Supplements: NULL and 0 in a row written before
	// migration 00016, until the rebuild (RebuildRollups) fills them.
	ReceivedAt  *time.Time
	Supplements int
}

func (rollupOpenRow) TableName() string { return "rollup_open" }

func (r rollupOpenRow) state() *domain.StatState {
	st := &domain.StatState{Since: r.Since.UTC(), Paused: r.Paused, DueAt: utcp(r.DueAt), Received: r.Since.UTC(), Supplements: r.Supplements}
	if r.ReceivedAt != nil {
		st.Received = r.ReceivedAt.UTC()
	}
	return st
}

func openRowOf(id int64, st *domain.StatState) rollupOpenRow {
	recv := ts(st.Received)
	return rollupOpenRow{DossierID: id, Since: ts(st.Since), Paused: st.Paused, DueAt: tsp(st.DueAt), ReceivedAt: &recv, Supplements: st.Supplements}
}

// RollupKey is one roll-up row: a date (YYYYMMDD) or month (YYYYMM,
// calendar or statistical), a lead agency and a procedure.
type RollupKey struct {
	Period        int
	AgencyCode    string
	ProcedureCode string
}

// ScoreKey is one row of the scorecard's roll-ups: the month of the event
// and the month of the dossier's reception (of its result for a rating;
// both calendar or both statistical), a lead agency and a procedure.
type ScoreKey struct {
	Period, Since int
	AgencyCode    string
	ProcedureCode string
}

// Rollups is the content of the roll-up tables.
type Rollups struct {
	Daily       map[RollupKey]domain.StatCounts
	Monthly     map[RollupKey]domain.StatCounts
	StatMonthly map[RollupKey]domain.StatCounts
	Score       map[ScoreKey]domain.ScoreCounts
	StatScore   map[ScoreKey]domain.ScoreCounts
	Open        map[int64]domain.StatState
}

func newRollups() Rollups {
	return Rollups{Daily: map[RollupKey]domain.StatCounts{}, Monthly: map[RollupKey]domain.StatCounts{},
		StatMonthly: map[RollupKey]domain.StatCounts{}, Score: map[ScoreKey]domain.ScoreCounts{},
		StatScore: map[ScoreKey]domain.ScoreCounts{}, Open: map[int64]domain.StatState{}}
}

// scoreTables are the scorecard's roll-up tables (migration 00016) and the
// month key of a date in each.
var scoreTables = []struct {
	table string
	of    func(d domain.Date) int
	in    func(r Rollups) map[ScoreKey]domain.ScoreCounts
}{
	{"score_monthly", domain.Date.MonthNumber, func(r Rollups) map[ScoreKey]domain.ScoreCounts { return r.Score }},
	{"score_stat_monthly", domain.Date.StatMonthNumber, func(r Rollups) map[ScoreKey]domain.ScoreCounts { return r.StatScore }},
}

// addScore puts the scorecard deltas of one group into each table's sums.
func (r Rollups) addScore(agency, procedure string, ds []domain.ScoreDelta) {
	for _, d := range ds {
		for _, t := range scoreTables {
			m := t.in(r)
			k := ScoreKey{t.of(d.Day), t.of(d.Since), agency, procedure}
			c := m[k]
			c[d.Counter] += d.N
			m[k] = c
		}
	}
}

// AllTime is the month key of the row of rollup_monthly that sums every
// date, past and future, of its group: the state at the end of a recent
// date is that sum minus the few months after it, cheaper than the many
// months before (docs/reports.md). No month range of a report reaches it.
const AllTime = 999999

// rollupTables are the three roll-up tables, the key column and the key of
// a date in each; the monthly table also adds every delta to its AllTime row.
var rollupTables = []struct {
	table, key string
	of         func(d domain.Date) int
	allTime    bool
	in         func(r Rollups) map[RollupKey]domain.StatCounts
}{
	{"rollup_daily", "day", domain.Date.DayNumber, false, func(r Rollups) map[RollupKey]domain.StatCounts { return r.Daily }},
	{"rollup_monthly", "month", domain.Date.MonthNumber, true, func(r Rollups) map[RollupKey]domain.StatCounts { return r.Monthly }},
	{"rollup_stat_monthly", "month", domain.Date.StatMonthNumber, false, func(r Rollups) map[RollupKey]domain.StatCounts { return r.StatMonthly }},
}

// add puts deltas of one group into the sums of each table.
func (r Rollups) add(agency, procedure string, ds []domain.StatDelta) {
	bump := func(m map[RollupKey]domain.StatCounts, k RollupKey, d domain.StatDelta) {
		c := m[k]
		c[d.Counter] += d.N
		m[k] = c
	}
	for _, d := range ds {
		for _, t := range rollupTables {
			bump(t.in(r), RollupKey{t.of(d.Day), agency, procedure}, d)
			if t.allTime {
				bump(t.in(r), RollupKey{AllTime, agency, procedure}, d)
			}
		}
	}
}

// prune drops the rows whose counters are all zero (deltas that cancelled),
// so two Rollups compare equal whatever order they were built in.
func (r Rollups) prune() {
	for _, m := range []map[RollupKey]domain.StatCounts{r.Daily, r.Monthly, r.StatMonthly} {
		for k, c := range m {
			if c == (domain.StatCounts{}) {
				delete(m, k)
			}
		}
	}
	for _, m := range []map[ScoreKey]domain.ScoreCounts{r.Score, r.StatScore} {
		for k, c := range m {
			if c == (domain.ScoreCounts{}) {
				delete(m, k)
			}
		}
	}
}

// statColumns lists the counter columns in counter order.
var statColumns = func() []string {
	out := make([]string, domain.NumStatCounters)
	for c := range domain.NumStatCounters {
		out[c] = c.Name()
	}
	return out
}()

// scoreColumns lists the scorecard counter columns in counter order.
var scoreColumns = func() []string {
	out := make([]string, domain.NumScoreCounters)
	for c := range domain.NumScoreCounters {
		out[c] = c.Name()
	}
	return out
}()

// applyRollups moves the roll-ups by what the change's history lines did to
// the dossier, in the caller's transaction.
func (q queries) applyRollups(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	if len(ch.History) == 0 {
		return nil
	}
	prev, err := q.rollupState(ctx, d.ID, ch.History[0])
	if err != nil {
		return err
	}
	stmts, args, lock := rollupWrites(d, ch, prev)
	if len(stmts) == 0 {
		return nil
	}
	if q.dialect != Postgres {
		// SQLite runs one writer at a time: plain statements.
		for i, stmt := range stmts {
			if err := q.ctx(ctx).Exec(stmt, args[i]...).Error; err != nil {
				return translate(err, "roll-ups")
			}
		}
		return nil
	}
	return q.runRollups(ctx, d, stmts, args, lock)
}

// rollupWrites are the statements that move the roll-ups for a change from
// the dossier's state prev, and whether they touch the group's rows (which
// are written under the group's lock, runRollups).
func rollupWrites(d *domain.Dossier, ch domain.Change, prev *domain.StatState) (stmts []string, args [][]any, lock bool) {
	facts := domain.StatFactsOf(d)
	r := newRollups()
	st := prev
	for _, h := range ch.History {
		next, ds := domain.StatStep(facts, st, h)
		r.add(d.LeadAgencyCode, d.ProcedureCode, ds)
		r.addScore(d.LeadAgencyCode, d.ProcedureCode, domain.ScoreStep(facts, st, next, h))
		st = next
	}
	r.prune()
	stmts, args = openStatement(d.ID, prev, st)
	state := len(stmts)
	stmts, args = r.statements(stmts, args)
	return stmts, args, len(stmts) > state
}

// rollupLockKey is the advisory lock of the dossier's roll-up group.
func rollupLockKey(d *domain.Dossier) int64 {
	h := fnv.New64a()
	h.Write([]byte(d.LeadAgencyCode + "\x00" + d.ProcedureCode))
	return int64(h.Sum64())
}

// rollupState reads the dossier's state row. Only an open dossier has one:
// the read is skipped when the first line starts from a status that is not
// open (intake, acceptance, a returned result, a rating).
func (q queries) rollupState(ctx context.Context, id int64, first domain.HistoryEntry) (*domain.StatState, error) {
	if !first.From.Open() {
		return nil, nil
	}
	var rows []rollupOpenRow
	if seen := q.loaded[id]; seen != nil && seen.rollup != nil {
		rows = *seen.rollup // read ahead with the locked row
	} else if err := q.ctx(ctx).Where("dossier_id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, translate(err, "roll-up state")
	}
	if len(rows) == 1 {
		return rows[0].state(), nil
	}
	return nil, nil
}

// openStatement is the change of the dossier's state row, if any.
func openStatement(id int64, prev, st *domain.StatState) ([]string, [][]any) {
	switch {
	case st == prev:
		return nil, nil
	case st == nil:
		return []string{"DELETE FROM rollup_open WHERE dossier_id = ?"}, [][]any{{id}}
	}
	r := openRowOf(id, st)
	if prev == nil {
		return []string{"INSERT INTO rollup_open (dossier_id, since, paused, due_at, received_at, supplements) VALUES (?, ?, ?, ?, ?, ?)"},
			[][]any{{id, r.Since, r.Paused, r.DueAt, r.ReceivedAt, r.Supplements}}
	}
	return []string{"UPDATE rollup_open SET since = ?, paused = ?, due_at = ?, received_at = ?, supplements = ? WHERE dossier_id = ?"},
		[][]any{{r.Since, r.Paused, r.DueAt, r.ReceivedAt, r.Supplements, id}}
}

// statements appends the upserts of every roll-up table that moves.
func (r Rollups) statements(stmts []string, args [][]any) ([]string, [][]any) {
	for _, t := range rollupTables {
		if stmt, a := upsertStatement(t.table, t.key, t.in(r)); stmt != "" {
			stmts, args = append(stmts, stmt), append(args, a)
		}
	}
	for _, t := range scoreTables {
		if stmt, a := scoreUpsertStatement(t.table, t.in(r)); stmt != "" {
			stmts, args = append(stmts, stmt), append(args, a)
		}
	}
	return stmts, args
}

// runRollups runs the statements on PostgreSQL: the group's roll-up rows
// are taken under a lock on the group held to commit, so transactions
// touching several groups' rows in any order (a recorded day off moves many
// dossiers at once) cannot deadlock with each other; then everything in one
// statement.
func (q queries) runRollups(ctx context.Context, d *domain.Dossier, stmts []string, args [][]any, lock bool) error {
	if lock {
		if err := q.ctx(ctx).Exec("SELECT pg_advisory_xact_lock(?)", rollupLockKey(d)).Error; err != nil {
			return translate(err, "roll-up lock")
		}
	}
	var sb strings.Builder
	var all []any
	for i, stmt := range stmts[:len(stmts)-1] {
		if i == 0 {
			sb.WriteString("WITH ")
		} else {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "u%d AS (%s)", i, stmt)
		all = append(all, args[i]...)
	}
	sb.WriteString(" " + stmts[len(stmts)-1])
	all = append(all, args[len(args)-1]...)
	return translate(q.ctx(ctx).Exec(sb.String(), all...).Error, "roll-ups")
}

// upsertRollups adds rows to a roll-up table in one statement.
func (q queries) upsertRollups(ctx context.Context, table, key string, rows map[RollupKey]domain.StatCounts) error {
	stmt, args := upsertStatement(table, key, rows)
	if stmt == "" {
		return nil
	}
	return translate(q.ctx(ctx).Exec(stmt, args...).Error, table)
}

// upsertStatement builds the INSERT ... ON CONFLICT that adds rows to a
// roll-up table, in key order (so concurrent statements lock rows in the
// same order), naming only the counters that move; "" when nothing does.
func upsertStatement(table, key string, rows map[RollupKey]domain.StatCounts) (string, []any) {
	keys := make([]RollupKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b RollupKey) int {
		if a.Period != b.Period {
			return a.Period - b.Period
		}
		if c := strings.Compare(a.AgencyCode, b.AgencyCode); c != 0 {
			return c
		}
		return strings.Compare(a.ProcedureCode, b.ProcedureCode)
	})
	vals, counts := make([][]any, len(keys)), make([][]int64, len(keys))
	for i, k := range keys {
		c := rows[k]
		vals[i], counts[i] = []any{k.Period, k.AgencyCode, k.ProcedureCode}, c[:]
	}
	return upsertSQL(table, []string{key, "agency_code", "procedure_code"}, statColumns, vals, counts)
}

// scoreUpsertStatement is upsertStatement for a scorecard roll-up table,
// in its primary key's order.
func scoreUpsertStatement(table string, rows map[ScoreKey]domain.ScoreCounts) (string, []any) {
	keys := make([]ScoreKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ScoreKey) int {
		if a.Period != b.Period {
			return a.Period - b.Period
		}
		if c := strings.Compare(a.AgencyCode, b.AgencyCode); c != 0 {
			return c
		}
		if c := strings.Compare(a.ProcedureCode, b.ProcedureCode); c != 0 {
			return c
		}
		return a.Since - b.Since
	})
	vals, counts := make([][]any, len(keys)), make([][]int64, len(keys))
	for i, k := range keys {
		c := rows[k]
		vals[i], counts[i] = []any{k.Period, k.AgencyCode, k.ProcedureCode, k.Since}, c[:]
	}
	return upsertSQL(table, []string{"month", "agency_code", "procedure_code", "since"}, scoreColumns, vals, counts)
}

// upsertSQL adds rows (key values and counters, in the order given) to a
// table whose primary key is keyCols, naming only the counters that move.
func upsertSQL(table string, keyCols, cols []string, keys [][]any, counts [][]int64) (string, []any) {
	var used []int
	for i := range cols {
		for _, c := range counts {
			if c[i] != 0 {
				used = append(used, i)
				break
			}
		}
	}
	if len(used) == 0 {
		return "", nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s", table, strings.Join(keyCols, ", "))
	for _, i := range used {
		sb.WriteString(", " + cols[i])
	}
	sb.WriteString(") VALUES ")
	row := "(?" + strings.Repeat(", ?", len(keyCols)-1+len(used)) + ")"
	args := make([]any, 0, len(keys)*(len(keyCols)+len(used)))
	for n, k := range keys {
		if n > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
		args = append(args, k...)
		for _, i := range used {
			args = append(args, counts[n][i])
		}
	}
	fmt.Fprintf(&sb, " ON CONFLICT (%s) DO UPDATE SET ", strings.Join(keyCols, ", "))
	for n, i := range used {
		if n > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%[1]s = %[2]s.%[1]s + excluded.%[1]s", cols[i], table)
	}
	return sb.String(), args
}

// rollupRow scans a roll-up row.
type rollupRow struct {
	Period        int
	AgencyCode    string
	ProcedureCode string
	Counts        domain.StatCounts
}

// Rollups reads the roll-up tables whole, without the all-zero rows (for
// tests and the recount command; at national scale this is large).
func (s *Store) Rollups(ctx context.Context) (Rollups, error) {
	out := newRollups()
	for _, t := range rollupTables {
		into := t.in(out)
		rows, err := s.db.WithContext(ctx).Raw("SELECT " + t.key + ", agency_code, procedure_code, " + strings.Join(statColumns, ", ") +
			" FROM " + t.table).Rows()
		if err != nil {
			return out, translate(err, t.table)
		}
		for rows.Next() {
			var r rollupRow
			dst := []any{&r.Period, &r.AgencyCode, &r.ProcedureCode}
			for i := range r.Counts {
				dst = append(dst, &r.Counts[i])
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return out, translate(err, t.table)
			}
			into[RollupKey{r.Period, r.AgencyCode, r.ProcedureCode}] = r.Counts
		}
		if err := rows.Close(); err != nil {
			return out, translate(err, t.table)
		}
	}
	if err := s.readScoreRollups(ctx, out); err != nil {
		return out, err
	}
	var open []rollupOpenRow
	if err := s.db.WithContext(ctx).Find(&open).Error; err != nil {
		return out, translate(err, "roll-up state")
	}
	for _, r := range open {
		out.Open[r.DossierID] = *r.state()
	}
	out.prune()
	return out, nil
}

// readScoreRollups reads the scorecard's roll-up tables whole into out.
func (s *Store) readScoreRollups(ctx context.Context, out Rollups) error {
	for _, t := range scoreTables {
		into := t.in(out)
		rows, err := s.db.WithContext(ctx).Raw("SELECT month, since, agency_code, procedure_code, " + strings.Join(scoreColumns, ", ") +
			" FROM " + t.table).Rows()
		if err != nil {
			return translate(err, t.table)
		}
		for rows.Next() {
			var k ScoreKey
			var c domain.ScoreCounts
			dst := []any{&k.Period, &k.Since, &k.AgencyCode, &k.ProcedureCode}
			for i := range c {
				dst = append(dst, &c[i])
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return translate(err, t.table)
			}
			into[k] = c
		}
		if err := rows.Close(); err != nil {
			return translate(err, t.table)
		}
	}
	return nil
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// recountDossier is what the recount reads of a dossier.
type recountDossier struct {
	ID             int64
	LeadAgencyCode string
	ProcedureCode  string
	Channel        string
	Delivery       string
	ReceivedAt     time.Time
	Verdict        string
	UsedMinutes    int64
	ExtensionLate  *bool
	ReturnMethod   *string
	Rating         *int
	ProcessedAt    *time.Time
}

// recountLine is what the recount reads of a history line.
type recountLine struct {
	DossierID  int64
	At         time.Time
	Action     string
	FromStatus int
	ToStatus   int
	DueAt      *time.Time
}

// RecountRollups computes the roll-ups from scratch, from the dossiers and
// their history lines replayed through domain.StatStep, without reading the
// roll-up tables. Tests compare it with Rollups; RebuildRollups writes it.
func (s *Store) RecountRollups(ctx context.Context) (Rollups, error) {
	out := newRollups()
	db := s.db.WithContext(ctx)
	drows, err := db.Raw(`SELECT id, lead_agency_code, procedure_code, channel, delivery, received_at, verdict, used_minutes,
		extension_late, return_method, rating, processed_at FROM dossiers ORDER BY id`).Rows()
	if err != nil {
		return out, translate(err, "dossiers")
	}
	defer drows.Close()
	hrows, err := db.Raw(`SELECT dossier_id, at, action, from_status, to_status, due_at FROM dossier_history ORDER BY dossier_id, id`).Rows()
	if err != nil {
		return out, translate(err, "history")
	}
	defer hrows.Close()
	var line recountLine
	haveLine := false
	nextLine := func() error {
		haveLine = hrows.Next()
		if !haveLine {
			return hrows.Err()
		}
		line = recountLine{}
		return db.ScanRows(hrows, &line)
	}
	if err := nextLine(); err != nil {
		return out, translate(err, "history")
	}
	for drows.Next() {
		var d recountDossier
		if err := db.ScanRows(drows, &d); err != nil {
			return out, translate(err, "dossiers")
		}
		f := domain.StatFacts{Channel: domain.Channel(d.Channel), Delivery: domain.Delivery(d.Delivery), ReceivedAt: d.ReceivedAt,
			Verdict: domain.Verdict(d.Verdict), UsedMinutes: d.UsedMinutes, ReturnMethod: domain.Delivery(deref(d.ReturnMethod)),
			ProcessedAt: d.ProcessedAt}
		if d.ExtensionLate != nil {
			f.ExtensionLate = *d.ExtensionLate
		}
		if d.Rating != nil {
			f.Rating = *d.Rating
		}
		var st *domain.StatState
		for haveLine && line.DossierID <= d.ID {
			if line.DossierID == d.ID {
				h := domain.HistoryEntry{At: line.At, Action: domain.HistoryAction(line.Action),
					From: domain.Status(line.FromStatus), To: domain.Status(line.ToStatus), DueAt: line.DueAt}
				next, ds := domain.StatStep(f, st, h)
				out.add(d.LeadAgencyCode, d.ProcedureCode, ds)
				out.addScore(d.LeadAgencyCode, d.ProcedureCode, domain.ScoreStep(f, st, next, h))
				st = next
			}
			if err := nextLine(); err != nil {
				return out, translate(err, "history")
			}
		}
		if st != nil {
			out.Open[d.ID] = *openRowOf(d.ID, st).state()
		}
	}
	if err := drows.Err(); err != nil {
		return out, translate(err, "dossiers")
	}
	out.prune()
	return out, nil
}

// RebuildRollups replaces the roll-up tables with a recount, in one
// transaction (after an upgrade from a release without roll-ups, or to
// repair them; `motcua seed rollups`).
func (s *Store) RebuildRollups(ctx context.Context) error {
	r, err := s.RecountRollups(ctx)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		q := queries{db: g, dialect: s.dialect}
		for _, t := range []string{"rollup_daily", "rollup_monthly", "rollup_stat_monthly", "score_monthly", "score_stat_monthly", "rollup_open"} {
			if err := g.Exec("DELETE FROM " + t).Error; err != nil {
				return translate(err, t)
			}
		}
		if err := q.insertRollups(ctx, r); err != nil {
			return err
		}
		return nil
	})
}

// insertRollups writes whole roll-ups into empty tables, in batches.
func (q queries) insertRollups(ctx context.Context, r Rollups) error {
	for _, t := range rollupTables {
		batch := map[RollupKey]domain.StatCounts{}
		for k, c := range t.in(r) {
			batch[k] = c
			if len(batch) == 500 {
				if err := q.upsertRollups(ctx, t.table, t.key, batch); err != nil {
					return err
				}
				clear(batch)
			}
		}
		if err := q.upsertRollups(ctx, t.table, t.key, batch); err != nil {
			return err
		}
	}
	for _, t := range scoreTables {
		if err := q.insertScoreRollups(ctx, t.table, t.in(r)); err != nil {
			return err
		}
	}
	open := make([]rollupOpenRow, 0, len(r.Open))
	for id, st := range r.Open {
		open = append(open, openRowOf(id, &st))
	}
	if len(open) > 0 {
		if err := q.ctx(ctx).CreateInBatches(open, 1000).Error; err != nil {
			return translate(err, "roll-up state")
		}
	}
	return nil
}

// insertScoreRollups writes a whole scorecard roll-up into its empty table,
// in batches.
func (q queries) insertScoreRollups(ctx context.Context, table string, rows map[ScoreKey]domain.ScoreCounts) error {
	batch := map[ScoreKey]domain.ScoreCounts{}
	flush := func() error {
		stmt, args := scoreUpsertStatement(table, batch)
		clear(batch)
		if stmt == "" {
			return nil
		}
		return translate(q.ctx(ctx).Exec(stmt, args...).Error, table)
	}
	for k, c := range rows {
		batch[k] = c
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
