package handlers

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// Export formats of the reports.
const (
	mimeCSV  = "text/csv; charset=utf-8"
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// reportFormat reads format: "" or json, csv, xlsx.
func reportFormat(c echo.Context) (string, error) {
	switch f := c.QueryParam("format"); f {
	case "", "json":
		return "json", nil
	case "csv", "xlsx":
		return f, nil
	}
	return "", queryError("format", "must be json, csv or xlsx")
}

// figuresOut is one row (or the total) of the compliance report.
type figuresOut struct {
	AgencyCode                *string  `json:"agency_code,omitempty"`
	AgencyName                *string  `json:"agency_name,omitempty"`
	ProcedureCode             *string  `json:"procedure_code,omitempty"`
	ProcedureName             *string  `json:"procedure_name,omitempty"`
	Received                  int64    `json:"received"`
	ReceivedOnline            int64    `json:"received_online"`
	ReceivedPostal            int64    `json:"received_postal"`
	ReceivedByPost            int64    `json:"received_by_post"`
	CarriedOver               int64    `json:"carried_over"`
	Processed                 int64    `json:"processed"`
	ProcessedEarly            int64    `json:"processed_early"`
	ProcessedOnTime           int64    `json:"processed_on_time"`
	ProcessedLate             int64    `json:"processed_late"`
	Withdrawn                 int64    `json:"withdrawn"`
	Stopped                   int64    `json:"stopped"`
	RefusedAfterReception     int64    `json:"refused_after_reception"`
	InProgress                int64    `json:"in_progress"`
	InProgressOnTime          int64    `json:"in_progress_on_time"`
	InProgressOverdue         int64    `json:"in_progress_overdue"`
	Paused                    int64    `json:"paused"`
	OnTimeRate                *float64 `json:"on_time_rate"`
	AvgProcessingWorkingHours *float64 `json:"avg_processing_working_hours"`
	OnlineShare               *float64 `json:"online_share"`
	PostalShare               *float64 `json:"postal_share"`
	ReturnedPostal            int64    `json:"returned_postal"`
	Apologies                 int64    `json:"apologies"`
	ApologiesLate             int64    `json:"apologies_late"`
	Ratings                   int64    `json:"ratings"`
	RatingsSatisfied          int64    `json:"ratings_satisfied"`
	SatisfiedShare            *float64 `json:"satisfied_share"`
	OnlineProcedures          int64    `json:"online_procedures"`
	OnlineProceduresUsed      int64    `json:"online_procedures_used"`
}

func toFiguresOut(groupBy, code, name string, f domain.Figures) figuresOut {
	out := figuresOut{
		Received: f.Received, ReceivedOnline: f.ReceivedOnline, ReceivedPostal: f.ReceivedPostal, ReceivedByPost: f.ReceivedByPost,
		CarriedOver: f.CarriedOver, Processed: f.Processed, ProcessedEarly: f.ProcessedEarly, ProcessedOnTime: f.ProcessedOnTime,
		ProcessedLate: f.ProcessedLate, Withdrawn: f.Withdrawn, Stopped: f.Stopped, RefusedAfterReception: f.RefusedAfterReception,
		InProgress: f.InProgress, InProgressOnTime: f.InProgressOnTime(), InProgressOverdue: f.InProgressOverdue, Paused: f.Paused,
		OnTimeRate: f.OnTimeRate(), AvgProcessingWorkingHours: f.AvgProcessingWorkingHours(), OnlineShare: f.OnlineShare(),
		PostalShare: f.PostalShare(), ReturnedPostal: f.ReturnedPostal, Apologies: f.Apologies, ApologiesLate: f.ApologiesLate,
		Ratings: f.Ratings, RatingsSatisfied: f.RatingsSatisfied, SatisfiedShare: f.SatisfiedShare(),
		OnlineProcedures: f.OnlineProcedures, OnlineProceduresUsed: f.OnlineProceduresUsed,
	}
	if groupBy == service.GroupByProcedure {
		out.ProcedureCode, out.ProcedureName = &code, &name
	} else {
		out.AgencyCode, out.AgencyName = &code, &name
	}
	return out
}

type complianceOut struct {
	From    string       `json:"from"`
	To      string       `json:"to"`
	Period  string       `json:"period,omitempty"`
	GroupBy string       `json:"group_by"`
	AsOf    time.Time    `json:"as_of"`
	Rows    []figuresOut `json:"rows"`
	Total   figuresOut   `json:"total"`
}

// totalName labels the total row.
const totalName = "Tổng cộng"

func (h *api) complianceReport(c echo.Context) error {
	format, err := reportFormat(c)
	if err != nil {
		return err
	}
	rep, err := h.svc.Compliance(c.Request().Context(), actorOf(c), service.ComplianceQuery{
		Period: c.QueryParam("period"), From: c.QueryParam("from"), To: c.QueryParam("to"),
		AgencyCode: c.QueryParam("agency_code"), GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return err
	}
	out := complianceOut{From: rep.Period.From.String(), To: rep.Period.To.String(), Period: rep.Period.Name, GroupBy: rep.GroupBy,
		AsOf: local(rep.AsOf), Rows: make([]figuresOut, 0, len(rep.Rows)),
		Total: toFiguresOut(rep.GroupBy, "", totalName, rep.Total)}
	for _, r := range rep.Rows {
		out.Rows = append(out.Rows, toFiguresOut(rep.GroupBy, r.Code, r.Name, r.Figures))
	}
	if format == "json" {
		return c.JSON(http.StatusOK, out)
	}
	name := "bao-cao-giai-quyet-tthc_" + rep.Period.Slug()
	return writeTable(c, format, name, complianceTable(out))
}

// column is one column of an export: a Vietnamese heading and a cell per row.
type column struct {
	heading string
	cell    func(f figuresOut) any
}

// complianceTable lays the report out as rows of cells (a total last).
func complianceTable(out complianceOut) table {
	codeHead, nameHead := "Mã cơ quan", "Tên cơ quan"
	code := func(f figuresOut) any { return *f.AgencyCode }
	name := func(f figuresOut) any { return *f.AgencyName }
	if out.GroupBy == service.GroupByProcedure {
		codeHead, nameHead = "Mã thủ tục", "Tên thủ tục"
		code = func(f figuresOut) any { return *f.ProcedureCode }
		name = func(f figuresOut) any { return *f.ProcedureName }
	}
	n := func(get func(f figuresOut) int64) func(figuresOut) any {
		return func(f figuresOut) any { return get(f) }
	}
	r := func(get func(f figuresOut) *float64) func(figuresOut) any {
		return func(f figuresOut) any {
			if v := get(f); v != nil {
				return ratio(*v)
			}
			return nil
		}
	}
	cols := []column{
		{codeHead, code}, {nameHead, name},
		{"Tồn kỳ trước chuyển sang", n(func(f figuresOut) int64 { return f.CarriedOver })},
		{"Tiếp nhận trong kỳ", n(func(f figuresOut) int64 { return f.Received })},
		{"Tiếp nhận trực tuyến", n(func(f figuresOut) int64 { return f.ReceivedOnline })},
		{"Tiếp nhận qua bưu chính", n(func(f figuresOut) int64 { return f.ReceivedPostal })},
		{"Đã giải quyết", n(func(f figuresOut) int64 { return f.Processed })},
		{"Giải quyết trước hạn", n(func(f figuresOut) int64 { return f.ProcessedEarly })},
		{"Giải quyết đúng hạn", n(func(f figuresOut) int64 { return f.ProcessedOnTime })},
		{"Giải quyết quá hạn", n(func(f figuresOut) int64 { return f.ProcessedLate })},
		{"Rút hồ sơ", n(func(f figuresOut) int64 { return f.Withdrawn })},
		{"Dừng xử lý", n(func(f figuresOut) int64 { return f.Stopped })},
		{"Trong đó: từ chối sau tiếp nhận", n(func(f figuresOut) int64 { return f.RefusedAfterReception })},
		{"Đang giải quyết", n(func(f figuresOut) int64 { return f.InProgress })},
		{"Đang giải quyết trong hạn", n(func(f figuresOut) int64 { return f.InProgressOnTime })},
		{"Đang giải quyết quá hạn", n(func(f figuresOut) int64 { return f.InProgressOverdue })},
		{"Tạm dừng (chờ bổ sung, nghĩa vụ tài chính)", n(func(f figuresOut) int64 { return f.Paused })},
		{"Tỷ lệ giải quyết đúng hạn", r(func(f figuresOut) *float64 { return f.OnTimeRate })},
		{"Thời gian giải quyết trung bình (giờ làm việc)", func(f figuresOut) any {
			if f.AvgProcessingWorkingHours != nil {
				return *f.AvgProcessingWorkingHours
			}
			return nil
		}},
		{"Tỷ lệ tiếp nhận trực tuyến", r(func(f figuresOut) *float64 { return f.OnlineShare })},
		{"Tỷ lệ tiếp nhận hoặc trả kết quả qua bưu chính", r(func(f figuresOut) *float64 { return f.PostalShare })},
		{"Trả kết quả qua bưu chính", n(func(f figuresOut) int64 { return f.ReturnedPostal })},
		{"Văn bản xin lỗi, hẹn lại", n(func(f figuresOut) int64 { return f.Apologies })},
		{"Trong đó: xin lỗi muộn", n(func(f figuresOut) int64 { return f.ApologiesLate })},
		{"Lượt đánh giá", n(func(f figuresOut) int64 { return f.Ratings })},
		{"Tỷ lệ hài lòng", r(func(f figuresOut) *float64 { return f.SatisfiedShare })},
		{"TTHC cung cấp trực tuyến", n(func(f figuresOut) int64 { return f.OnlineProcedures })},
		{"TTHC trực tuyến có phát sinh hồ sơ", n(func(f figuresOut) int64 { return f.OnlineProceduresUsed })},
	}
	t := table{sheet: "Báo cáo", title: "Tình hình giải quyết TTHC " + periodLabel(out)}
	for _, c := range cols {
		t.headings = append(t.headings, c.heading)
	}
	for _, f := range append(out.Rows, out.Total) {
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = c.cell(f)
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func periodLabel(out complianceOut) string {
	from, _ := domain.ParseDate(out.From)
	to, _ := domain.ParseDate(out.To)
	return domain.Period{From: from, To: to}.Label()
}

// ratio is a share kept as a fraction, printed with four decimals in CSV
// and as a percentage cell in spreadsheets.
type ratio float64

type overdueItemOut struct {
	Code                string     `json:"code"`
	ProcedureCode       string     `json:"procedure_code"`
	AgencyCode          string     `json:"agency_code"`
	ReceivingCode       string     `json:"receiving_agency_code"`
	HolderCode          string     `json:"holder_code"`
	Status              string     `json:"status"`
	Step                *string    `json:"step"`
	StepSeq             *int       `json:"step_seq"`
	Kind                string     `json:"kind"`
	DueAt               time.Time  `json:"due_at"`
	PromisedAt          *time.Time `json:"promised_at"`
	OverdueWorkingHours float64    `json:"overdue_working_hours"`
	Extended            bool       `json:"extended"`
	ApologyLate         bool       `json:"apology_late"`
}

type overdueOut struct {
	AsOf       time.Time        `json:"as_of"`
	Items      []overdueItemOut `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

func (h *api) overdueReport(c echo.Context) error {
	format, err := reportFormat(c)
	if err != nil {
		return err
	}
	q := service.OverdueQuery{AgencyCode: c.QueryParam("agency_code"), ProcedureCode: c.QueryParam("procedure_code"),
		HolderCode: c.QueryParam("holder_code"), Cursor: c.QueryParam("cursor")}
	var f domain.Fields
	if v := c.QueryParam("as_of"); v != "" {
		if t, ok := queryTime(&f, "as_of", v); ok {
			q.AsOf = &t
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := atoiPositive(v)
		if err != nil {
			f.Add("limit", "must be a positive integer")
		}
		q.Limit = n
	}
	if format != "json" {
		if q.Limit != 0 || q.Cursor != "" {
			f.Add("format", "an export holds the whole list: leave out limit and cursor")
		}
		q.Limit = -1
	}
	if err := f.Err(); err != nil {
		return err
	}
	rep, err := h.svc.Overdue(c.Request().Context(), actorOf(c), q)
	if err != nil {
		return err
	}
	out := overdueOut{AsOf: local(rep.AsOf), Items: make([]overdueItemOut, 0, len(rep.Items))}
	for _, it := range rep.Items {
		o := overdueItemOut{Code: it.Code, ProcedureCode: it.ProcedureCode, AgencyCode: it.LeadAgencyCode, ReceivingCode: it.AgencyCode,
			HolderCode: it.HolderCode, Status: it.Status.String(), Kind: "dossier", DueAt: local(it.DueAt),
			PromisedAt: localp(it.PromisedAt), OverdueWorkingHours: it.OverdueWorkingHours, Extended: it.PromisedAt != nil,
			ApologyLate: it.ApologyLate}
		if it.Kind == 1 {
			step, seq := it.Step, it.StepSeq
			o.Kind, o.Step, o.StepSeq = "step", &step, &seq
		}
		out.Items = append(out.Items, o)
	}
	if rep.NextCursor != "" {
		out.NextCursor = &rep.NextCursor
	}
	if format == "json" {
		return c.JSON(http.StatusOK, out)
	}
	names, err := h.catalogueNames(c)
	if err != nil {
		return err
	}
	return writeTable(c, format, "ho-so-qua-han_"+local(rep.AsOf).Format("2006-01-02T1504"), overdueTable(out, names))
}

// catalogueNames are the names of agencies and procedures by code, for
// exports, which give names beside codes.
func (h *api) catalogueNames(c echo.Context) (map[string]string, error) {
	ctx := c.Request().Context()
	agencies, err := h.svc.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	procs, err := h.svc.Procedures(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(agencies)+len(procs))
	for _, a := range agencies {
		names[a.Code] = a.Name
	}
	for _, p := range procs {
		names[p.Code] = p.Name
	}
	return names, nil
}

// overdueTable lays the overdue list out: names beside codes, statuses in
// words for people (the status code in CSV), times as date cells in XLSX
// and RFC 3339 in CSV.
func overdueTable(out overdueOut, names map[string]string) table {
	t := table{sheet: "Hồ sơ quá hạn", title: "Hồ sơ, bước xử lý quá hạn tính đến " + out.AsOf.Format("15:04 02/01/2006"),
		headings: []string{"Mã hồ sơ", "Mã thủ tục", "Tên thủ tục", "Mã cơ quan chủ trì", "Cơ quan chủ trì", "Mã đơn vị tiếp nhận", "Đơn vị tiếp nhận",
			"Mã đơn vị đang xử lý", "Đơn vị đang xử lý", "Trạng thái", "Loại", "Bước xử lý", "Hạn xử lý", "Ngày hẹn mới",
			"Số giờ làm việc quá hạn", "Đã xin lỗi, hẹn lại", "Xin lỗi muộn"}}
	yes := func(b bool) string {
		if b {
			return "Có"
		}
		return "Không"
	}
	for _, it := range out.Items {
		kind, step := "Hồ sơ", ""
		if it.Kind == "step" {
			kind, step = "Bước xử lý", *it.Step
		}
		var promised any
		if it.PromisedAt != nil {
			promised = stamp(*it.PromisedAt)
		}
		status := coded{code: it.Status, label: it.Status}
		if st, ok := domain.ParseStatus(it.Status); ok {
			status.label = statusNamesVN[st]
		}
		t.rows = append(t.rows, []any{it.Code, it.ProcedureCode, names[it.ProcedureCode], it.AgencyCode, names[it.AgencyCode],
			it.ReceivingCode, names[it.ReceivingCode], it.HolderCode, names[it.HolderCode], status,
			kind, step, stamp(it.DueAt), promised, it.OverdueWorkingHours, yes(it.Extended), yes(it.ApologyLate)})
	}
	return t
}

// stamp is an instant: RFC 3339 in Vietnam's offset in CSV, a date cell
// shown as dd/mm/yyyy hh:mm (Vietnam's wall clock) in XLSX.
type stamp time.Time

// coded is a value with a machine code (CSV) and its words for people (XLSX).
type coded struct{ code, label string }

// table is an export: headings and rows of cells (string, int64, float64,
// ratio or nil for an empty cell).
type table struct {
	sheet, title string
	headings     []string
	rows         [][]any
}

// writeTable sends a table as CSV (UTF-8 with a byte-order mark, so
// spreadsheet programs show Vietnamese) or XLSX, as an attachment.
func writeTable(c echo.Context, format, name string, t table) error {
	var buf bytes.Buffer
	ctype := mimeCSV
	switch format {
	case "csv":
		buf.WriteString("\ufeff")
		w := csv.NewWriter(&buf)
		_ = w.Write(t.headings)
		rec := make([]string, len(t.headings))
		for _, row := range t.rows {
			for i, v := range row {
				rec[i] = csvCell(v)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		name += ".csv"
	case "xlsx":
		ctype = mimeXLSX
		if err := writeXLSX(&buf, t); err != nil {
			return err
		}
		name += ".xlsx"
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// csvText writes a text cell so that no spreadsheet program runs it as a
// formula (OWASP, CSV injection): a cell starting with =, +, -, @, tab or
// carriage return gets a leading apostrophe, which the programs show as
// text. Numbers are written from numbers, never through here.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return csvText(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case ratio:
		return strconv.FormatFloat(float64(x), 'f', 4, 64)
	case stamp:
		return time.Time(x).In(domain.Vietnam()).Format(time.RFC3339)
	case coded:
		return x.code
	}
	return ""
}

// writeXLSX writes the table on one sheet: headings in bold on the first
// row, numbers as numbers, shares as percentages.
func writeXLSX(buf *bytes.Buffer, t table) error {
	x := excelize.NewFile()
	defer x.Close()
	sheet := t.sheet
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	pct, err := x.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	if err != nil {
		return err
	}
	dateFmt := "dd/mm/yyyy hh:mm"
	date, err := x.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	head := make([]any, len(t.headings))
	for i, hd := range t.headings {
		head[i] = excelize.Cell{StyleID: bold, Value: hd}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for r, row := range t.rows {
		cells := make([]any, len(row))
		for i, v := range row {
			switch x := v.(type) {
			case ratio:
				cells[i] = excelize.Cell{StyleID: pct, Value: float64(x)}
			case stamp:
				// Spreadsheets have no time zones: the cell holds Vietnam's wall clock.
				l := time.Time(x).In(domain.Vietnam())
				cells[i] = excelize.Cell{StyleID: date, Value: time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)}
			case coded:
				cells[i] = x.label
			case nil:
				cells[i] = nil
			default:
				cells[i] = x
			}
		}
		axis, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(axis, cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	x.SetDocProps(&excelize.DocProperties{Title: t.title, Creator: "motcua"})
	return x.Write(buf)
}
