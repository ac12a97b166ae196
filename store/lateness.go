package store

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// The lateness roll-ups (docs/reports.md, "Lateness"): per local date
// (lateness_daily, YYYYMMDD) and calendar month (lateness_monthly, YYYYMM),
// unit and officer, the counters of the processing control slip, kept in
// the transaction that writes the hand-offs.

// lateKey is one roll-up row's key: the date or month, the unit, the officer.
type lateKey struct {
	Key       int
	Unit, Sub string
}

// lateCounts are one roll-up row's counters.
type lateCounts struct {
	Name                       string
	Steps, Early, OnTime, Late int64
	LateMinutes, DossiersLate  int64
}

func (c *lateCounts) add(o lateCounts) {
	if o.Name != "" {
		c.Name = o.Name
	}
	c.Steps += o.Steps
	c.Early += o.Early
	c.OnTime += o.OnTime
	c.Late += o.Late
	c.LateMinutes += o.LateMinutes
	c.DossiersLate += o.DossiersLate
}

// lateDelta is what one fact moves: at an instant, for a unit and officer.
type lateDelta struct {
	At        time.Time
	Unit, Sub string
	c         lateCounts
}

// stepDeltas counts the finished steps among hand-offs.
func stepDeltas(hs []domain.Handoff) []lateDelta {
	var out []lateDelta
	for _, h := range hs {
		if h.StepSeq == 0 {
			continue
		}
		x := lateDelta{At: h.At, Unit: h.FromUnit, Sub: h.Actor, c: lateCounts{Name: h.ActorName, Steps: 1, LateMinutes: h.OverrunMinutes}}
		switch h.Verdict {
		case domain.VerdictEarly:
			x.c.Early = 1
		case domain.VerdictOnTime:
			x.c.OnTime = 1
		case domain.VerdictLate:
			x.c.Late = 1
		}
		out = append(out, x)
	}
	return out
}

// firstLate returns the late step hand-off of lowest step among hs.
func firstLate(hs []domain.Handoff) (domain.Handoff, bool) {
	var best domain.Handoff
	found := false
	for _, h := range hs {
		if h.StepSeq > 0 && h.Verdict == domain.VerdictLate && (!found || h.StepSeq < best.StepSeq) {
			best, found = h, true
		}
	}
	return best, found
}

func dayKey(t time.Time) int {
	d := domain.DateOf(t)
	return d.Year*10000 + int(d.Month)*100 + d.Day
}

// applyLateness moves the lateness roll-ups for a change: its finished
// steps, and, when the change made the result late, the dossier late by its
// first late step (read back with the hand-offs just written).
func (q queries) applyLateness(ctx context.Context, d *domain.Dossier, ch domain.Change) error {
	ds := stepDeltas(ch.Handoffs)
	if d.Verdict == domain.VerdictLate && d.ProcessedAt != nil && len(ch.History) > 0 && ch.History[len(ch.History)-1].To == domain.StatusProcessed &&
		ch.History[len(ch.History)-1].From != domain.StatusProcessed {
		var hs []handoffRow
		if err := q.ctx(ctx).Where("dossier_id = ? AND step_seq > 0 AND verdict = ?", d.ID, string(domain.VerdictLate)).Find(&hs).Error; err != nil {
			return translate(err, "handoffs")
		}
		var list []domain.Handoff
		for _, h := range hs {
			list = append(list, domain.Handoff{StepSeq: h.StepSeq, FromUnit: h.FromUnit, Actor: h.Actor, ActorName: h.ActorName, Verdict: domain.Verdict(h.Verdict)})
		}
		if h, ok := firstLate(list); ok {
			ds = append(ds, lateDelta{At: *d.ProcessedAt, Unit: h.FromUnit, Sub: h.Actor, c: lateCounts{Name: h.ActorName, DossiersLate: 1}})
		}
	}
	for _, x := range ds {
		for _, t := range []struct {
			table, key string
			k          int
		}{{"lateness_daily", "day", dayKey(x.At)}, {"lateness_monthly", "month", dayKey(x.At) / 100}} {
			err := q.ctx(ctx).Exec(`INSERT INTO `+t.table+` (`+t.key+`, unit_code, actor, actor_name, steps, early, on_time, late, late_minutes, dossiers_late)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (`+t.key+`, unit_code, actor) DO UPDATE SET
				actor_name = CASE WHEN excluded.actor_name <> '' THEN excluded.actor_name ELSE `+t.table+`.actor_name END,
				steps = `+t.table+`.steps + excluded.steps, early = `+t.table+`.early + excluded.early,
				on_time = `+t.table+`.on_time + excluded.on_time, late = `+t.table+`.late + excluded.late,
				late_minutes = `+t.table+`.late_minutes + excluded.late_minutes, dossiers_late = `+t.table+`.dossiers_late + excluded.dossiers_late`,
				t.k, x.Unit, x.Sub, x.c.Name, x.c.Steps, x.c.Early, x.c.OnTime, x.c.Late, x.c.LateMinutes, x.c.DossiersLate).Error
			if err != nil {
				return translate(err, t.table)
			}
		}
	}
	return nil
}

// Lateness sums the lateness roll-ups of [From, To) per unit, or per unit
// and officer: whole calendar months from lateness_monthly, days from
// lateness_daily otherwise.
func (s *Store) Lateness(ctx context.Context, q service.LatenessQuery) ([]service.LatenessRow, error) {
	from, to := domain.DateOf(q.From), domain.DateOf(q.To.Add(-time.Nanosecond))
	table, key, lo, hi := "lateness_daily", "day", dayKey(q.From), dayKey(q.To.Add(-time.Nanosecond))
	if from.Day == 1 && to.AddDays(1).Day == 1 {
		table, key, lo, hi = "lateness_monthly", "month", lo/100, hi/100
	}
	keys, group := "unit_code, '' AS sub, '' AS name", "unit_code"
	if q.GroupBy == service.GroupByOfficer {
		keys, group = "unit_code, actor AS sub, MAX(actor_name) AS name", "unit_code, actor"
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + keys + `, SUM(steps) AS steps, SUM(early) AS early, SUM(on_time) AS on_time, SUM(late) AS late,
		SUM(late_minutes) AS late_minutes, SUM(dossiers_late) AS dossiers_late FROM ` + table + ` WHERE ` + key + ` >= ? AND ` + key + ` <= ?`)
	args := []any{lo, hi}
	if q.Units != nil {
		b.WriteString(" AND unit_code IN ?")
		args = append(args, q.Units)
	}
	b.WriteString(" GROUP BY " + group)
	var rows []service.LatenessRow
	if err := s.db.WithContext(ctx).Raw(b.String(), args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "lateness")
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].UnitCode != rows[j].UnitCode {
			return rows[i].UnitCode < rows[j].UnitCode
		}
		return rows[i].Sub < rows[j].Sub
	})
	return rows, nil
}
