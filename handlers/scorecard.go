package handlers

import (
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/service"
)

type indicatorOut struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Value       *float64 `json:"value"`
	Points      *float64 `json:"points"`
	MaxPoints   float64  `json:"max_points"`
	NotMeasured *string  `json:"not_measured,omitempty"`
}

type scoreGroupOut struct {
	Name              string         `json:"name"`
	Points            float64        `json:"points"`
	MaxPoints         float64        `json:"max_points"`
	MeasuredMaxPoints float64        `json:"measured_max_points"`
	Indicators        []indicatorOut `json:"indicators"`
}

type scorecardRowOut struct {
	AgencyCode        string          `json:"agency_code"`
	AgencyName        string          `json:"agency_name"`
	Points            float64         `json:"points"`
	MaxPoints         float64         `json:"max_points"`
	MeasuredMaxPoints float64         `json:"measured_max_points"`
	Groups            []scoreGroupOut `json:"groups"`
}

type scorecardOut struct {
	From   string            `json:"from"`
	To     string            `json:"to"`
	Period string            `json:"period,omitempty"`
	AsOf   time.Time         `json:"as_of"`
	Rows   []scorecardRowOut `json:"rows"`
}

func toScorecardOut(rep service.ScorecardReport) scorecardOut {
	out := scorecardOut{From: rep.Period.From.String(), To: rep.Period.To.String(), Period: rep.Period.Name, AsOf: local(rep.AsOf),
		Rows: make([]scorecardRowOut, 0, len(rep.Rows))}
	for _, r := range rep.Rows {
		row := scorecardRowOut{AgencyCode: r.Code, AgencyName: r.Name, Points: r.Points, MaxPoints: r.MaxPoints,
			MeasuredMaxPoints: r.MeasuredMaxPoints, Groups: make([]scoreGroupOut, 0, len(r.Groups))}
		for _, g := range r.Groups {
			gOut := scoreGroupOut{Name: g.Name, Points: g.Points, MaxPoints: g.MaxPoints, MeasuredMaxPoints: g.MeasuredMaxPoints}
			for _, in := range g.Indicators {
				io := indicatorOut{ID: in.ID, Name: in.Name, Value: in.Value, Points: in.Points, MaxPoints: in.MaxPoints}
				if in.NotMeasured != "" {
					nm := in.NotMeasured
					io.NotMeasured = &nm
				}
				gOut.Indicators = append(gOut.Indicators, io)
			}
			row.Groups = append(row.Groups, gOut)
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

func (h *api) scorecardReport(c echo.Context) error {
	format, err := reportFormat(c)
	if err != nil {
		return err
	}
	rep, err := h.svc.Scorecard(c.Request().Context(), actorOf(c), service.ScorecardQuery{
		Period: c.QueryParam("period"), From: c.QueryParam("from"), To: c.QueryParam("to"), AgencyCode: c.QueryParam("agency_code")})
	if err != nil {
		return err
	}
	out := toScorecardOut(rep)
	if format == "json" {
		return c.JSON(http.StatusOK, out)
	}
	return writeTable(c, format, "bo-chi-so-766_"+rep.Period.Slug(), scorecardTable(rep))
}

// scorecardTable lays the scorecard out one line per agency and indicator,
// then one line per agency with its totals.
func scorecardTable(rep service.ScorecardReport) table {
	t := table{sheet: "Bộ chỉ số 766", title: "Bộ chỉ số phục vụ người dân, doanh nghiệp " + rep.Period.Label(),
		headings: []string{"Mã cơ quan", "Tên cơ quan", "Nhóm", "Chỉ số", "Tên chỉ số", "Giá trị", "Điểm", "Điểm tối đa", "Chưa đo được vì"}}
	num := func(v *float64) any {
		if v == nil {
			return nil
		}
		return math.Round(*v*10000) / 10000
	}
	for _, r := range rep.Rows {
		for _, g := range r.Groups {
			for _, in := range g.Indicators {
				var value any
				if in.Value != nil {
					value = ratio(*in.Value)
					if in.ID == "2.2" {
						value = math.Round(*in.Value*100) / 100
					}
				}
				t.rows = append(t.rows, []any{r.Code, r.Name, g.Name, in.ID, in.Name, value, num(in.Points), in.MaxPoints, in.NotMeasured})
			}
		}
		t.rows = append(t.rows, []any{r.Code, r.Name, "Tổng điểm (đo được tối đa " + ftoa(r.MeasuredMaxPoints) + ")", "", "", nil,
			r.Points, r.MaxPoints, ""})
	}
	return t
}

func ftoa(v float64) string { return csvCell(v) }

type latenessRowOut struct {
	UnitCode         string  `json:"unit_code,omitempty"`
	UnitName         string  `json:"unit_name,omitempty"`
	Sub              *string `json:"sub,omitempty"`
	Name             *string `json:"name,omitempty"`
	Steps            int64   `json:"steps"`
	Early            int64   `json:"early"`
	OnTime           int64   `json:"on_time"`
	Late             int64   `json:"late"`
	LateWorkingHours float64 `json:"late_working_hours"`
	DossiersLate     int64   `json:"dossiers_late"`
}

type latenessOut struct {
	From    string           `json:"from"`
	To      string           `json:"to"`
	Period  string           `json:"period,omitempty"`
	GroupBy string           `json:"group_by"`
	Rows    []latenessRowOut `json:"rows"`
	Total   latenessRowOut   `json:"total"`
}

func toLatenessRowOut(groupBy string, r service.LatenessRow) latenessRowOut {
	out := latenessRowOut{UnitCode: r.UnitCode, UnitName: r.UnitName, Steps: r.Steps, Early: r.Early, OnTime: r.OnTime, Late: r.Late,
		LateWorkingHours: math.Round(float64(r.LateMinutes)/60*100) / 100, DossiersLate: r.DossiersLate}
	if groupBy == service.GroupByOfficer && r.UnitCode != "" {
		sub, name := r.Sub, r.Name
		out.Sub, out.Name = &sub, &name
	}
	return out
}

func (h *api) latenessReport(c echo.Context) error {
	format, err := reportFormat(c)
	if err != nil {
		return err
	}
	rep, err := h.svc.Lateness(c.Request().Context(), actorOf(c), service.LatenessReportQuery{
		Period: c.QueryParam("period"), From: c.QueryParam("from"), To: c.QueryParam("to"),
		AgencyCode: c.QueryParam("agency_code"), GroupBy: c.QueryParam("group_by")})
	if err != nil {
		return err
	}
	out := latenessOut{From: rep.Period.From.String(), To: rep.Period.To.String(), Period: rep.Period.Name, GroupBy: rep.GroupBy,
		Rows: make([]latenessRowOut, 0, len(rep.Rows)), Total: toLatenessRowOut(rep.GroupBy, rep.Total)}
	for _, r := range rep.Rows {
		out.Rows = append(out.Rows, toLatenessRowOut(rep.GroupBy, r))
	}
	if format == "json" {
		return c.JSON(http.StatusOK, out)
	}
	t := table{sheet: "Chậm muộn", title: "Giải quyết chậm muộn theo đơn vị, cán bộ " + rep.Period.Label(),
		headings: []string{"Mã đơn vị", "Tên đơn vị", "Cán bộ (tài khoản)", "Cán bộ", "Số bước đã xử lý", "Trước hạn", "Đúng hạn",
			"Quá hạn", "Số giờ làm việc quá hạn", "Hồ sơ trễ hạn do đơn vị, cán bộ này trễ đầu tiên"}}
	for _, r := range append(out.Rows, out.Total) {
		code, name := r.UnitCode, r.UnitName
		if code == "" {
			name = totalName
		}
		sub, person := "", ""
		if r.Sub != nil {
			sub, person = *r.Sub, *r.Name
		}
		t.rows = append(t.rows, []any{code, name, sub, person, r.Steps, r.Early, r.OnTime, r.Late, r.LateWorkingHours, r.DossiersLate})
	}
	return writeTable(c, format, "cham-muon_"+string(rep.GroupBy)+"_"+rep.Period.Slug(), t)
}
