package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
)

// The supervisor's dashboard: the compliance figures of a chosen period per
// agency or procedure with two charts (inline SVG drawn on the server), the
// overdue list, and the CSV and XLSX exports. The figures come from the
// report use cases, which keep a supervisor to the agency subtree they may
// see.

type dashboardPage struct {
	Periods    []optionGroup
	GroupBy    []option
	Agencies   []option
	Procedures []option
	Holders    []option
	From, To   string

	Report      *service.ComplianceReport
	ReportError string
	PeriodLabel string
	ByProcedure bool
	RateChart   *barChart
	SplitChart  *barChart

	Overdue      *service.OverdueReport
	OverdueError string
	// AsOf is the overdue list's instant as chosen (local
	// "YYYY-MM-DDTHH:MM"), empty for the default: the end of the period of
	// the figures, or now while that period runs.
	AsOf string
	// FiguresAsOf is the instant of the figures "at the end of the period";
	// SameInstant says whether the list answers for it too.
	FiguresAsOf *time.Time
	SameInstant bool
	OverdueNext string
	Names       map[string]string
	ProcNames   map[string]string

	ExportReport  exportLinks
	ExportOverdue exportLinks

	// The Decision 766 scorecard of the agencies with anything measured,
	// and the lateness per unit and per officer, for the same period.
	Scorecard      []service.ScorecardRow
	Units          *service.LatenessReport
	Officers       *service.LatenessReport
	ExportScore    exportLinks
	ExportLateness exportLinks
}

type exportLinks struct{ XLSX, CSV string }

func exportsOf(path string, q url.Values) exportLinks {
	x, c := url.Values{}, url.Values{}
	for k, v := range q {
		x[k], c[k] = v, v
	}
	x.Set("format", "xlsx")
	c.Set("format", "csv")
	return exportLinks{XLSX: path + "?" + x.Encode(), CSV: path + "?" + c.Encode()}
}

type optionGroup struct {
	Label   string
	Options []option
}

// periodOptions lists the periods a supervisor picks from: the last twelve
// months, the last four quarters and the last two years, calendar and
// statistical (15th to 14th), each only once it has begun.
func periodOptions(today domain.Date, selected string) []optionGroup {
	var months, quarters, years, stat []option
	add := func(dst *[]option, name, label string) {
		p, err := domain.ParsePeriod(name)
		if err != nil || today.Before(p.From) {
			return
		}
		*dst = append(*dst, option{name, label + " (" + p.Label() + ")", name == selected})
	}
	first := today.FirstOfMonth()
	for i := 0; i < 12; i++ {
		m := first.AddMonths(-i)
		add(&months, fmt.Sprintf("%04d-%02d", m.Year, m.Month), fmt.Sprintf("Tháng %02d/%04d", m.Month, m.Year))
	}
	roman := []string{"I", "II", "III", "IV"}
	for i := 0; i < 5; i++ {
		m := first.AddMonths(-3 * i)
		q := (int(m.Month)-1)/3 + 1
		add(&quarters, fmt.Sprintf("%04d-Q%d", m.Year, q), fmt.Sprintf("Quý %s/%04d", roman[q-1], m.Year))
	}
	for i := 0; i < 2; i++ {
		add(&years, strconv.Itoa(today.Year-i), "Năm "+strconv.Itoa(today.Year-i))
	}
	// Statistical periods are named after the month they end in; the
	// current one may end next month.
	next := first.AddMonths(1)
	for i := 0; i < 6; i++ {
		m := next.AddMonths(-i)
		add(&stat, fmt.Sprintf("stat:%04d-%02d", m.Year, m.Month), fmt.Sprintf("Kỳ thống kê tháng %02d/%04d", m.Month, m.Year))
	}
	for i := 0; i < 4; i++ {
		m := next.AddMonths(-3 * i)
		q := (int(m.Month)-1)/3 + 1
		add(&stat, fmt.Sprintf("stat:%04d-Q%d", m.Year, q), fmt.Sprintf("Kỳ thống kê quý %s/%04d", roman[q-1], m.Year))
	}
	for i := 0; i < 2; i++ {
		y := today.Year + 1 - i
		add(&stat, "stat:"+strconv.Itoa(y), "Kỳ thống kê năm "+strconv.Itoa(y))
	}
	return []optionGroup{{"Tháng", months}, {"Quý", quarters}, {"Năm", years}, {"Kỳ thống kê (từ ngày 15 đến ngày 14)", stat}}
}

// dashboardQuery is what a supervisor chose on the dashboard.
type dashboardQuery struct {
	period, from, to, groupBy string
	agency, proc, holder      string
	asOfText, cursor          string
}

// dashboardQueryOf reads the dashboard's query; no period is this month.
func dashboardQueryOf(q url.Values, today domain.Date) dashboardQuery {
	dq := dashboardQuery{period: q.Get("period"), from: clip(q.Get("from"), 10), to: clip(q.Get("to"), 10),
		groupBy: q.Get("group_by"), agency: q.Get("agency_code"), proc: q.Get("procedure_code"), holder: q.Get("holder_code"),
		asOfText: clip(q.Get("as_of"), 16), cursor: q.Get("sau")}
	if dq.period == "" && dq.from == "" && dq.to == "" {
		dq.period = fmt.Sprintf("%04d-%02d", today.Year, today.Month)
	}
	if dq.groupBy != service.GroupByProcedure {
		dq.groupBy = service.GroupByAgency
	}
	return dq
}

func (p *pages) dashboard(c echo.Context) error {
	now := p.svc.Now()
	q := c.QueryParams()
	dq := dashboardQueryOf(q, domain.DateOf(now))
	dp, err := p.dashboardForm(c, dq, domain.DateOf(now))
	if err != nil {
		return err
	}
	status, err := p.dashboardFigures(c, &dp, dq)
	if err != nil {
		return err
	}
	listStatus, err := p.dashboardOverdue(c, &dp, dq, q, now)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		status = listStatus
	}
	d := p.data(c, "Giám sát giải quyết hồ sơ", "dashboard")
	d.Data = dp
	return p.render(c, status, "dashboard", d)
}

// dashboardForm fills the choices of the dashboard's filters.
func (p *pages) dashboardForm(c echo.Context, dq dashboardQuery, today domain.Date) (dashboardPage, error) {
	procs, names, err := p.catalogue(c)
	if err != nil {
		return dashboardPage{}, err
	}
	visible, err := p.visibleAgencies(c, handlers.ActorOf(c))
	if err != nil {
		return dashboardPage{}, err
	}
	dp := dashboardPage{Periods: periodOptions(today, dq.period), From: dq.from, To: dq.to, Names: names, ProcNames: map[string]string{},
		GroupBy: []option{{service.GroupByAgency, "Theo cơ quan chủ trì", dq.groupBy == service.GroupByAgency},
			{service.GroupByProcedure, "Theo thủ tục hành chính", dq.groupBy == service.GroupByProcedure}},
		Agencies: agencyOptions(visible, dq.agency, "Tất cả đơn vị được giám sát"), Procedures: procedureOptions(procs, dq.proc, "Tất cả thủ tục"),
		Holders: agencyOptions(visible, dq.holder, "Mọi đơn vị đang giữ"), ByProcedure: dq.groupBy == service.GroupByProcedure,
		AsOf: dq.asOfText}
	for _, pr := range procs {
		dp.ProcNames[pr.Code] = pr.Name
	}
	return dp, nil
}

// dashboardFigures adds the compliance figures of the period, with the
// scorecard and the lateness tables; a bad filter is said on the page,
// with its status.
func (p *pages) dashboardFigures(c echo.Context, dp *dashboardPage, dq dashboardQuery) (int, error) {
	rep, err := p.svc.Compliance(c.Request().Context(), handlers.ActorOf(c), service.ComplianceQuery{Period: dq.period, From: dq.from, To: dq.to,
		AgencyCode: dq.agency, GroupBy: dq.groupBy})
	switch {
	case err == nil:
	case domain.KindOf(err) == domain.Invalid || domain.KindOf(err) == domain.Forbidden:
		dp.ReportError = "Không lập được báo cáo: " + reportMessage(err)
		return handlers.ProblemFor(err).Status, nil
	default:
		return 0, err
	}
	dp.Report = &rep
	dp.PeriodLabel = rep.Period.Label()
	dp.RateChart, dp.SplitChart = complianceCharts(rep)
	ex := url.Values{"group_by": {dq.groupBy}}
	if rep.Period.Name != "" {
		ex.Set("period", rep.Period.Name)
	} else {
		ex.Set("from", rep.Period.From.String())
		ex.Set("to", rep.Period.To.String())
	}
	if dq.agency != "" {
		ex.Set("agency_code", dq.agency)
	}
	dp.ExportReport = exportsOf("/giam-sat/xuat/bao-cao", ex)
	return http.StatusOK, p.scoreAndLateness(c, dp, ex)
}

// dashboardOverdue adds the overdue list. It answers for the instant of the
// figures (the end of the period) unless the supervisor picks another;
// while the period runs, its end is still to come and the list is as of
// now: the page says which instant each answer is for.
func (p *pages) dashboardOverdue(c echo.Context, dp *dashboardPage, dq dashboardQuery, q url.Values, now time.Time) (int, error) {
	var asOf *time.Time
	if dp.Report != nil {
		figures, at := dp.Report.AsOf, dp.Report.AsOf
		dp.FiguresAsOf = &figures
		if at.After(now) {
			at = now
		}
		asOf = &at
	}
	var asOfErr error
	if dq.asOfText != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", dq.asOfText, domain.Vietnam())
		if err != nil {
			asOfErr = handlers.QueryError("as_of", "must be a local date and time, e.g. 2026-03-31T17:00")
		} else {
			asOf = &t
		}
	}
	if asOf != nil && dp.FiguresAsOf != nil {
		dp.SameInstant = asOf.Equal(*dp.FiguresAsOf)
	}
	ov, err := p.svc.Overdue(c.Request().Context(), handlers.ActorOf(c), service.OverdueQuery{AgencyCode: dq.agency, ProcedureCode: dq.proc,
		HolderCode: dq.holder, Limit: 50, Cursor: dq.cursor, AsOf: asOf})
	if asOfErr != nil {
		err = asOfErr
	}
	switch {
	case err == nil:
	case domain.KindOf(err) == domain.Invalid || domain.KindOf(err) == domain.Forbidden:
		dp.OverdueError = "Không lập được danh sách: " + reportMessage(err)
		return handlers.ProblemFor(err).Status, nil
	default:
		return 0, err
	}
	dp.Overdue = &ov
	ex := url.Values{}
	for k, v := range map[string]string{"agency_code": dq.agency, "procedure_code": dq.proc, "holder_code": dq.holder} {
		if v != "" {
			ex.Set(k, v)
		}
	}
	if ov.AsOf.Before(now) {
		ex.Set("as_of", ov.AsOf.In(domain.Vietnam()).Format(time.RFC3339))
	}
	dp.ExportOverdue = exportsOf("/giam-sat/xuat/qua-han", ex)
	if ov.NextCursor != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("sau", ov.NextCursor)
		dp.OverdueNext = "/giam-sat?" + nq.Encode() + "#qua-han"
	}
	return http.StatusOK, nil
}

// scoreAndLateness adds the scorecard and the lateness tables of the period
// the figures are for (ex: its period and agency filters).
func (p *pages) scoreAndLateness(c echo.Context, dp *dashboardPage, ex url.Values) error {
	ctx, a := c.Request().Context(), handlers.ActorOf(c)
	q := service.ScorecardQuery{Period: ex.Get("period"), From: ex.Get("from"), To: ex.Get("to"), AgencyCode: ex.Get("agency_code")}
	sc, err := p.svc.Scorecard(ctx, a, q)
	if err != nil {
		return err
	}
	for _, r := range sc.Rows {
		if r.MeasuredMaxPoints > 0 {
			dp.Scorecard = append(dp.Scorecard, r)
		}
	}
	lq := service.LatenessReportQuery{Period: q.Period, From: q.From, To: q.To, AgencyCode: q.AgencyCode, GroupBy: service.GroupByUnit}
	units, err := p.svc.Lateness(ctx, a, lq)
	if err != nil {
		return err
	}
	lq.GroupBy = service.GroupByOfficer
	officers, err := p.svc.Lateness(ctx, a, lq)
	if err != nil {
		return err
	}
	dp.Units, dp.Officers = &units, &officers
	x := url.Values{}
	for k, v := range ex {
		if k != "group_by" {
			x[k] = v
		}
	}
	dp.ExportScore = exportsOf("/giam-sat/xuat/bo-chi-so", x)
	x.Set("group_by", service.GroupByOfficer)
	dp.ExportLateness = exportsOf("/giam-sat/xuat/cham-muon", x)
	return nil
}

// reportMessage says in Vietnamese what was wrong with the filters.
func reportMessage(err error) string {
	pr := handlers.ProblemFor(err)
	if pr.Code == domain.CodeForbidden {
		return "đơn vị được chọn nằm ngoài phạm vi quý vị giám sát."
	}
	fields := map[string]string{"period": "kỳ báo cáo", "from": "ngày bắt đầu", "to": "ngày kết thúc", "agency_code": "đơn vị",
		"procedure_code": "thủ tục", "holder_code": "đơn vị đang giữ", "cursor": "trang", "group_by": "cách nhóm",
		"as_of": "thời điểm của danh sách quá hạn"}
	for _, f := range pr.Errors {
		if n, ok := fields[f.Field]; ok {
			return n + " không hợp lệ (" + f.Message + ")."
		}
	}
	return pr.Detail
}

// exportCompliance and exportOverdue stream the API's exports to a signed-in
// supervisor: the same handlers, the same files, the session instead of a
// bearer token.
func (p *pages) exportCompliance(c echo.Context) error {
	if f := c.QueryParam("format"); f != "csv" && f != "xlsx" {
		return handlers.QueryError("format", "must be csv or xlsx")
	}
	return p.reports.Compliance(c)
}

func (p *pages) exportScorecard(c echo.Context) error {
	if f := c.QueryParam("format"); f != "csv" && f != "xlsx" {
		return handlers.QueryError("format", "must be csv or xlsx")
	}
	return p.reports.Scorecard(c)
}

func (p *pages) exportLateness(c echo.Context) error {
	if f := c.QueryParam("format"); f != "csv" && f != "xlsx" {
		return handlers.QueryError("format", "must be csv or xlsx")
	}
	return p.reports.Lateness(c)
}

func (p *pages) exportOverdue(c echo.Context) error {
	if f := c.QueryParam("format"); f != "csv" && f != "xlsx" {
		return handlers.QueryError("format", "must be csv or xlsx")
	}
	return p.reports.Overdue(c)
}

// barChart is a horizontal bar chart drawn as inline SVG: one row per
// group, its label above its bar, so it reads on a 360 px phone.
type barChart struct {
	ID          string
	Title, Desc string
	Width       int
	Height      int
	Rows        []barRow
	Legend      []legendItem
	Axis        []axisTick
}

type barRow struct {
	Label    string
	Value    string
	LabelY   int
	BarY     int
	Segments []barSegment
	ValueX   float64
}

type barSegment struct {
	X, W  float64
	Fill  string
	Title string
}

type legendItem struct {
	X     int
	Fill  string
	Label string
}

type axisTick struct {
	X      float64
	Label  string
	Anchor string
}

// Chart colours: dark enough against white for graphics (WCAG 1.4.11, 3:1)
// and told apart by lightness, not hue alone.
const (
	colEarly  = "#0b5d2a"
	colOnTime = "#4c9a5e"
	colLate   = "#b3261e"
	colRate   = "#0b57a4"
)

const (
	chartW    = 320
	barLeft   = 0
	barMax    = 260
	rowHeight = 40
	maxRows   = 20
)

func complianceCharts(rep service.ComplianceReport) (*barChart, *barChart) {
	rows := rep.Rows
	if len(rows) > maxRows {
		rows = rows[:maxRows]
	}
	label := func(r service.ComplianceRow) string {
		if r.Name == "" {
			return r.Code
		}
		return clip(r.Name, 48)
	}
	rate := &barChart{ID: "bieu-do-ty-le", Title: "Tỷ lệ giải quyết đúng hạn", Width: chartW,
		Desc: "Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn trên số hồ sơ đã giải quyết trong kỳ, theo từng nhóm."}
	split := &barChart{ID: "bieu-do-ket-qua", Title: "Hồ sơ đã giải quyết: trước hạn, đúng hạn, quá hạn", Width: chartW,
		Desc:   "Số hồ sơ đã giải quyết trong kỳ theo từng nhóm, chia theo trước hạn, đúng hạn và quá hạn.",
		Legend: []legendItem{{0, colEarly, "Trước hạn"}, {100, colOnTime, "Đúng hạn"}, {200, colLate, "Quá hạn"}}}
	var most int64
	for _, r := range rows {
		most = max(most, r.Processed)
	}
	top := 24
	for i, r := range rows {
		y := 8 + i*rowHeight
		rr := barRow{Label: label(r), LabelY: y + 12, BarY: y + 18}
		if v := r.OnTimeRate(); v != nil {
			w := *v * barMax
			rr.Segments = []barSegment{{X: barLeft, W: w, Fill: colRate, Title: label(r) + ": " + percent(v)}}
			rr.Value, rr.ValueX = percent(v), barLeft+w+4
		} else {
			rr.Value, rr.ValueX = "chưa có hồ sơ giải quyết", barLeft
		}
		rate.Rows = append(rate.Rows, rr)

		sr := barRow{Label: label(r), LabelY: top + i*rowHeight + 12, BarY: top + i*rowHeight + 18}
		x := float64(barLeft)
		for _, s := range []struct {
			n    int64
			fill string
			name string
		}{{r.ProcessedEarly, colEarly, "trước hạn"}, {r.ProcessedOnTime, colOnTime, "đúng hạn"}, {r.ProcessedLate, colLate, "quá hạn"}} {
			if s.n == 0 || most == 0 {
				continue
			}
			w := float64(s.n) / float64(most) * barMax
			sr.Segments = append(sr.Segments, barSegment{X: x, W: w, Fill: s.fill, Title: fmt.Sprintf("%s: %d %s", label(r), s.n, s.name)})
			x += w
		}
		sr.Value, sr.ValueX = strconv.FormatInt(r.Processed, 10), x+4
		split.Rows = append(split.Rows, sr)
	}
	rate.Height = 8 + len(rows)*rowHeight + 18
	for _, t := range []struct {
		at     float64
		anchor string
	}{{0, "start"}, {0.5, "middle"}, {1, "end"}} {
		rate.Axis = append(rate.Axis, axisTick{X: barLeft + t.at*barMax, Label: strconv.Itoa(int(t.at*100)) + "%", Anchor: t.anchor})
	}
	split.Height = top + len(rows)*rowHeight + 4
	return rate, split
}
