package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
)

// ReportStore reads what the supervisors' reports need: the roll-ups, the
// catalogue as it stood, and the open deadlines. Reads run outside any
// command transaction.
type ReportStore interface {
	// ComplianceCounts sums the roll-ups per lead agency and procedure, in
	// no particular order.
	ComplianceCounts(ctx context.Context, q CountsQuery) ([]GroupCounts, error)
	// ProceduresAt returns the procedures whose version in force at an
	// instant is offered online, with that version's agency and level.
	ProceduresAt(ctx context.Context, at time.Time) ([]ProcedureAt, error)
	// Names returns current names by code, of "agency" or "procedure".
	Names(ctx context.Context, kind string, codes []string) (map[string]string, error)
	// Overdue returns a page of open dossiers and running steps past their
	// deadline, ordered by (deadline, dossier before step, id, step).
	Overdue(ctx context.Context, f OverdueFilter) ([]OverdueRow, error)
}

// CountsQuery selects roll-ups: flows over the dates [From, To], states at
// the end of From-1 and of StateDay (not before From-1), for the lead
// agencies AgencyCodes (nil: all).
type CountsQuery struct {
	From, To    domain.Date
	StateDay    domain.Date
	AgencyCodes []string
}

// GroupCounts are the sums of one lead agency and procedure.
type GroupCounts struct {
	AgencyCode, ProcedureCode string
	Flows, AtStart, AtEnd     domain.StatCounts
}

// ProcedureAt is a procedure as its version in force stood.
type ProcedureAt struct {
	Code       string
	AgencyCode string
	Online     domain.Online
}

// OverdueFilter selects the overdue list.
type OverdueFilter struct {
	AsOf          time.Time
	AgencyCodes   []string // lead, receiving or holding unit among these; nil: any
	ProcedureCode string
	HolderCode    string
	Limit         int
	After         *OverdueCursor
	// Past asks for the list as it stood at AsOf (before now), from the
	// overdue states kept by the commands, dossiers finished since included.
	Past bool
}

// OverdueCursor is a position in the overdue list.
type OverdueCursor struct {
	DueAt time.Time
	Kind  int // 0 dossier, 1 step
	ID    int64
	Seq   int
}

// OverdueRow is one dossier (Kind 0) or running step (Kind 1) past its deadline.
type OverdueRow struct {
	Kind           int
	DossierID      int64
	StepSeq        int
	Step           string
	Code           string
	ProcedureCode  string
	LeadAgencyCode string
	AgencyCode     string // the receiving unit, whose calendar counts
	HolderCode     string
	Status         domain.Status
	DueAt          time.Time
	PromisedAt     *time.Time
	ApologyLate    bool
}

// Group-by values of the compliance report.
const (
	GroupByAgency    = "agency"
	GroupByProcedure = "procedure"
)

// ComplianceQuery asks for the service-quality figures: a named Period or
// From and To (local dates, YYYY-MM-DD, both included), an agency (with its
// sub-agencies) and a grouping.
type ComplianceQuery struct {
	Period     string
	From, To   string
	AgencyCode string
	GroupBy    string
}

// ComplianceRow is the figures of one lead agency or procedure.
type ComplianceRow struct {
	Code, Name string
	domain.Figures
}

// ComplianceReport answers GET /reports/compliance.
type ComplianceReport struct {
	Period  domain.Period
	GroupBy string
	// AsOf is the instant of the figures "at the end of the period": the
	// period's end, or the end of today for a period not over yet.
	AsOf  time.Time
	Rows  []ComplianceRow
	Total domain.Figures
}

// reportScope is the agencies whose reports the actor may read
// (domain.Actor.ReportScope): nil for all.
func (s *Service) reportScope(ctx context.Context, actor domain.Actor) ([]string, error) {
	subtree, err := s.subtreeOf(ctx, actor)
	if err != nil {
		return nil, err
	}
	scope, err := actor.ReportScope(subtree)
	if err != nil || scope.All {
		return nil, err
	}
	return append([]string{}, scope.Agencies...), nil
}

// agencyFilter narrows the scope to an agency and its sub-agencies: an
// unknown agency is a validation error, one outside the scope forbidden.
func (s *Service) agencyFilter(ctx context.Context, scope []string, code string) ([]string, error) {
	if code == "" {
		return scope, nil
	}
	if !domain.ValidAgencyCode(code) {
		return nil, fieldError("agency_code", "is not an agency code such as 000.00.07.H29")
	}
	if _, err := s.store.Agency(ctx, code); err != nil {
		if domain.KindOf(err) == domain.NotFound {
			return nil, fieldError("agency_code", "no agency has this code")
		}
		return nil, err
	}
	if scope != nil && !slices.Contains(scope, code) {
		return nil, domain.Forbiddenf("agency %s is outside the agencies you supervise", code)
	}
	return s.store.Subtree(ctx, code)
}

// ParseReportPeriod reads a period given by name or by from and to (exactly
// one of the two ways).
func ParseReportPeriod(name, from, to string) (domain.Period, error) {
	switch {
	case name != "" && (from != "" || to != ""):
		return domain.Period{}, fieldError("period", "give period, or from and to, not both")
	case name != "":
		return domain.ParsePeriod(name)
	case from == "" || to == "":
		field := "from"
		if from != "" {
			field = "to"
		}
		return domain.Period{}, fieldError(field, "give period (e.g. 2026-Q1, stat:2026-03) or both from and to (YYYY-MM-DD)")
	}
	var f domain.Fields
	a, err := domain.ParseInputDate(from)
	if err != nil {
		f.Add("from", "must be a date that exists, as YYYY-MM-DD")
	}
	b, err := domain.ParseInputDate(to)
	if err != nil {
		f.Add("to", "must be a date that exists, as YYYY-MM-DD")
	}
	if err := f.Err(); err != nil {
		return domain.Period{}, err
	}
	return domain.NewPeriod(a, b)
}

// Compliance computes the service-quality figures of a period per lead
// agency or procedure, from the roll-ups (docs/reports.md defines each
// figure). Supervisors see their agency's subtree, administrators all.
func (s *Service) Compliance(ctx context.Context, actor domain.Actor, q ComplianceQuery) (ComplianceReport, error) {
	scope, err := s.reportScope(ctx, actor)
	if err != nil {
		return ComplianceReport{}, err
	}
	p, err := ParseReportPeriod(q.Period, q.From, q.To)
	if err != nil {
		return ComplianceReport{}, err
	}
	groupBy, err := complianceGroupBy(q.GroupBy)
	if err != nil {
		return ComplianceReport{}, err
	}
	today := domain.DateOf(s.clock.Now())
	if today.Before(p.From) {
		return ComplianceReport{}, fieldError("from", "the period has not begun")
	}
	codes, err := s.agencyFilter(ctx, scope, q.AgencyCode)
	if err != nil {
		return ComplianceReport{}, err
	}
	stateDay := p.To
	if today.Before(stateDay) {
		stateDay = today
	}
	asOf := stateDay.AddDays(1).Time()
	counts, err := s.store.ComplianceCounts(ctx, CountsQuery{From: p.From, To: p.To, StateDay: stateDay, AgencyCodes: codes})
	if err != nil {
		return ComplianceReport{}, err
	}
	procs, err := s.store.ProceduresAt(ctx, asOf)
	if err != nil {
		return ComplianceReport{}, err
	}

	groups := complianceGroups(counts, procs, codes, groupBy)
	keys := make([]string, 0, len(groups))
	for k, f := range groups {
		if !f.IsZero() {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	names, err := s.store.Names(ctx, groupBy, keys)
	if err != nil {
		return ComplianceReport{}, err
	}
	rep := ComplianceReport{Period: p, GroupBy: groupBy, AsOf: asOf, Rows: make([]ComplianceRow, 0, len(keys))}
	for _, k := range keys {
		rep.Rows = append(rep.Rows, ComplianceRow{Code: k, Name: names[k], Figures: *groups[k]})
		rep.Total.Add(*groups[k])
	}
	return rep, nil
}

// complianceGroupBy checks group_by (default agency).
func complianceGroupBy(g string) (string, error) {
	switch g {
	case "":
		return GroupByAgency, nil
	case GroupByAgency, GroupByProcedure:
		return g, nil
	}
	return "", fieldError("group_by", "must be agency or procedure")
}

// complianceGroups sums the roll-ups' groups into the report's rows (per
// lead agency or procedure), with the procedures offered online in force at
// the period's end and those of them with an online dossier received in it.
func complianceGroups(counts []GroupCounts, procs []ProcedureAt, codes []string, groupBy string) map[string]*domain.Figures {
	groups := map[string]*domain.Figures{}
	group := func(code string) *domain.Figures {
		f := groups[code]
		if f == nil {
			f = &domain.Figures{}
			groups[code] = f
		}
		return f
	}
	usedOnline := map[string]bool{} // procedures with an online dossier received in the period
	for _, c := range counts {
		key := c.AgencyCode
		if groupBy == GroupByProcedure {
			key = c.ProcedureCode
		}
		group(key).Add(domain.NewFigures(c.Flows, c.AtStart, c.AtEnd))
		if c.Flows[domain.StatReceivedOnline] > 0 {
			usedOnline[c.ProcedureCode] = true
		}
	}
	for _, pr := range procs {
		if !pr.Online.Offered() || (codes != nil && !slices.Contains(codes, pr.AgencyCode)) {
			continue
		}
		key := pr.AgencyCode
		if groupBy == GroupByProcedure {
			key = pr.Code
		}
		f := group(key)
		f.OnlineProcedures++
		if usedOnline[pr.Code] {
			f.OnlineProceduresUsed++
		}
	}
	return groups
}

// OverdueQuery asks for the overdue list.
type OverdueQuery struct {
	AgencyCode    string
	ProcedureCode string
	HolderCode    string
	AsOf          *time.Time // nil: now
	Limit         int
	Cursor        string
}

// OverdueItem is one line of the overdue list.
type OverdueItem struct {
	OverdueRow
	OverdueWorkingHours float64
}

// OverdueReport answers GET /reports/overdue.
type OverdueReport struct {
	AsOf       time.Time
	Items      []OverdueItem
	NextCursor string
}

// MaxOverdueExport caps the lines of an exported overdue list.
const MaxOverdueExport = 100_000

// Overdue lists the open dossiers and running steps whose deadline passed
// before the as-of time, most overdue (earliest deadline) first, with the
// working hours past the deadline on the receiving unit's calendar.
// Supervisors see the dossiers their subtree receives, leads or holds.
// A limit of -1 asks for the whole list (exports), up to MaxOverdueExport.
func (s *Service) Overdue(ctx context.Context, actor domain.Actor, q OverdueQuery) (OverdueReport, error) {
	scope, err := s.reportScope(ctx, actor)
	if err != nil {
		return OverdueReport{}, err
	}
	limit, after, asOf, past, err := s.checkOverdueQuery(q)
	if err != nil {
		return OverdueReport{}, err
	}
	codes, err := s.agencyFilter(ctx, scope, q.AgencyCode)
	if err != nil {
		return OverdueReport{}, err
	}
	rep := OverdueReport{AsOf: asOf, Items: []OverdueItem{}}
	filter := OverdueFilter{AsOf: asOf, AgencyCodes: codes, ProcedureCode: q.ProcedureCode, HolderCode: q.HolderCode,
		Limit: min(limit, 1000), After: after, Past: past}
	for len(rep.Items) < limit {
		rows, err := s.store.Overdue(ctx, filter)
		if err != nil {
			return OverdueReport{}, err
		}
		for _, r := range rows {
			cal, err := s.Calendar(ctx, r.AgencyCode)
			if err != nil {
				return OverdueReport{}, err
			}
			h := math.Round(float64(cal.Between(r.DueAt, asOf))/60*100) / 100
			rep.Items = append(rep.Items, OverdueItem{OverdueRow: r, OverdueWorkingHours: h})
		}
		if len(rows) < filter.Limit {
			return rep, nil
		}
		last := rows[len(rows)-1]
		filter.After = &OverdueCursor{DueAt: last.DueAt, Kind: last.Kind, ID: last.DossierID, Seq: last.StepSeq}
		filter.Limit = min(1000, limit-len(rep.Items))
	}
	if q.Limit != -1 {
		rep.NextCursor = encodeOverdueCursor(*filter.After)
	}
	return rep, nil
}

// checkOverdueQuery validates the overdue list's query: the page size (-1:
// the whole list), the cursor, and the as-of instant (now when not given;
// past reports whether it is before now).
func (s *Service) checkOverdueQuery(q OverdueQuery) (limit int, after *OverdueCursor, asOf time.Time, past bool, err error) {
	var f domain.Fields
	limit = q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit == -1:
		limit = MaxOverdueExport
	case limit < 1 || limit > 500:
		f.Add("limit", "must be from 1 to 500")
	}
	if q.ProcedureCode != "" && !domain.ValidProcedureCode(q.ProcedureCode) {
		f.Add("procedure_code", "is not a procedure code")
	}
	if q.HolderCode != "" && !domain.ValidAgencyCode(q.HolderCode) {
		f.Add("holder_code", "is not an agency code")
	}
	if q.Cursor != "" {
		c, ok := decodeOverdueCursor(q.Cursor)
		if !ok {
			f.Add("cursor", "is not a cursor this service gave")
		}
		after = &c
	}
	now := s.clock.Now()
	asOf = now
	if q.AsOf != nil {
		asOf = q.AsOf.UTC().Truncate(time.Microsecond)
		switch {
		case asOf.After(now):
			f.Add("as_of", "must not be in the future: the list says what was overdue, not what will be")
		case asOf.Year() < 2000:
			f.Add("as_of", "must be in the year 2000 or later")
		default:
			past = asOf.Before(now)
		}
	}
	return limit, after, asOf, past, f.Err()
}

func encodeOverdueCursor(c OverdueCursor) string {
	raw := fmt.Sprintf("%d.%d.%d.%d", c.DueAt.UnixMicro(), c.Kind, c.ID, c.Seq)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeOverdueCursor(s string) (OverdueCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return OverdueCursor{}, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 4 {
		return OverdueCursor{}, false
	}
	var n [4]int64
	for i, p := range parts {
		if n[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return OverdueCursor{}, false
		}
	}
	if (n[1] != 0 && n[1] != 1) || n[2] <= 0 || n[3] < 0 {
		return OverdueCursor{}, false
	}
	return OverdueCursor{DueAt: time.UnixMicro(n[0]).UTC(), Kind: int(n[1]), ID: n[2], Seq: int(n[3])}, true
}
