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
}

func (rollupOpenRow) TableName() string { return "rollup_open" }

func (r rollupOpenRow) state() *domain.StatState {
	return &domain.StatState{Since: r.Since, Paused: r.Paused, DueAt: r.DueAt}
}

// RollupKey is one roll-up row: a date (YYYYMMDD) or month (YYYYMM,
// calendar or statistical), a lead agency and a procedure.
type RollupKey struct {
	Period        int
	AgencyCode    string
	ProcedureCode string
}

// Rollups is the content of the roll-up tables.
type Rollups struct {
	Daily       map[RollupKey]domain.StatCounts
	Monthly     map[RollupKey]domain.StatCounts
	StatMonthly map[RollupKey]domain.StatCounts
	Open        map[int64]domain.StatState
}

func newRollups() Rollups {
	return Rollups{Daily: map[RollupKey]domain.StatCounts{}, Monthly: map[RollupKey]domain.StatCounts{},
		StatMonthly: map[RollupKey]domain.StatCounts{}, Open: map[int64]domain.StatState{}}
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
}

// statColumns lists the counter columns in counter order.
var statColumns = func() []string {
	out := make([]string, domain.NumStatCounters)
	for c := range domain.NumStatCounters {
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
	// Only an open dossier has a state row: skip the read when the first
	// line starts from a status that is not open (intake, acceptance, a
	// returned result, a rating).
	var prev *domain.StatState
	if ch.History[0].From.Open() {
		var rows []rollupOpenRow
		if err := q.ctx(ctx).Where("dossier_id = ?", d.ID).Limit(1).Find(&rows).Error; err != nil {
			return translate(err, "roll-up state")
		}
		if len(rows) == 1 {
			prev = rows[0].state()
		}
	}
	facts := domain.StatFactsOf(d)
	st := prev
	var deltas []domain.StatDelta
	for _, h := range ch.History {
		var ds []domain.StatDelta
		st, ds = domain.StatStep(facts, st, h)
		deltas = append(deltas, ds...)
	}
	// The statements to run: the state row's change, then the roll-ups.
	var stmts []string
	var args [][]any
	switch {
	case st == prev:
	case st == nil:
		stmts = append(stmts, "DELETE FROM rollup_open WHERE dossier_id = ?")
		args = append(args, []any{d.ID})
	case prev == nil:
		stmts = append(stmts, "INSERT INTO rollup_open (dossier_id, since, paused, due_at) VALUES (?, ?, ?, ?)")
		args = append(args, []any{d.ID, ts(st.Since), st.Paused, tsp(st.DueAt)})
	default:
		stmts = append(stmts, "UPDATE rollup_open SET since = ?, paused = ?, due_at = ? WHERE dossier_id = ?")
		args = append(args, []any{ts(st.Since), st.Paused, tsp(st.DueAt), d.ID})
	}
	r := newRollups()
	r.add(d.LeadAgencyCode, d.ProcedureCode, deltas)
	r.prune()
	rollups := 0
	for _, t := range rollupTables {
		if stmt, a := upsertStatement(t.table, t.key, t.in(r)); stmt != "" {
			stmts = append(stmts, stmt)
			args = append(args, a)
			rollups++
		}
	}
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
	// PostgreSQL: the group's roll-up rows are taken under a lock on the
	// group held to commit, so transactions touching several groups' rows in
	// any order (a recorded day off moves many dossiers at once) cannot
	// deadlock with each other; then everything in one statement.
	if rollups > 0 {
		h := fnv.New64a()
		h.Write([]byte(d.LeadAgencyCode + "\x00" + d.ProcedureCode))
		if err := q.ctx(ctx).Exec("SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())).Error; err != nil {
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
	if len(rows) == 0 {
		return "", nil
	}
	keys := make([]RollupKey, 0, len(rows))
	var used [domain.NumStatCounters]bool
	for k, c := range rows {
		keys = append(keys, k)
		for i, v := range c {
			used[i] = used[i] || v != 0
		}
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
	var cols []int
	for i, u := range used {
		if u {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return "", nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s, agency_code, procedure_code", table, key)
	for _, i := range cols {
		sb.WriteString(", " + statColumns[i])
	}
	sb.WriteString(") VALUES ")
	args := make([]any, 0, len(keys)*(3+len(cols)))
	for n, k := range keys {
		if n > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?" + strings.Repeat(", ?", len(cols)) + ")")
		args = append(args, k.Period, k.AgencyCode, k.ProcedureCode)
		c := rows[k]
		for _, i := range cols {
			args = append(args, c[i])
		}
	}
	fmt.Fprintf(&sb, " ON CONFLICT (%s, agency_code, procedure_code) DO UPDATE SET ", key)
	for n, i := range cols {
		if n > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%[1]s = %[2]s.%[1]s + excluded.%[1]s", statColumns[i], table)
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
	var open []rollupOpenRow
	if err := s.db.WithContext(ctx).Find(&open).Error; err != nil {
		return out, translate(err, "roll-up state")
	}
	for _, r := range open {
		out.Open[r.DossierID] = domain.StatState{Since: r.Since.UTC(), Paused: r.Paused, DueAt: utcp(r.DueAt)}
	}
	out.prune()
	return out, nil
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
		extension_late, return_method, rating FROM dossiers ORDER BY id`).Rows()
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
			Verdict: domain.Verdict(d.Verdict), UsedMinutes: d.UsedMinutes, ReturnMethod: domain.Delivery(deref(d.ReturnMethod))}
		if d.ExtensionLate != nil {
			f.ExtensionLate = *d.ExtensionLate
		}
		if d.Rating != nil {
			f.Rating = *d.Rating
		}
		var st *domain.StatState
		for haveLine && line.DossierID <= d.ID {
			if line.DossierID == d.ID {
				var ds []domain.StatDelta
				st, ds = domain.StatStep(f, st, domain.HistoryEntry{At: line.At, Action: domain.HistoryAction(line.Action),
					From: domain.Status(line.FromStatus), To: domain.Status(line.ToStatus), DueAt: line.DueAt})
				out.add(d.LeadAgencyCode, d.ProcedureCode, ds)
			}
			if err := nextLine(); err != nil {
				return out, translate(err, "history")
			}
		}
		if st != nil {
			out.Open[d.ID] = domain.StatState{Since: st.Since.UTC().Truncate(time.Microsecond), Paused: st.Paused,
				DueAt: utcp(tsp(st.DueAt))}
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
		for _, t := range []string{"rollup_daily", "rollup_monthly", "rollup_stat_monthly", "rollup_open"} {
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
	open := make([]rollupOpenRow, 0, len(r.Open))
	for id, st := range r.Open {
		open = append(open, rollupOpenRow{DossierID: id, Since: ts(st.Since), Paused: st.Paused, DueAt: tsp(st.DueAt)})
	}
	if len(open) > 0 {
		if err := q.ctx(ctx).CreateInBatches(open, 1000).Error; err != nil {
			return translate(err, "roll-up state")
		}
	}
	return nil
}
