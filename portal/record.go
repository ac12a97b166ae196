package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/motcua/motcua/domain"
)

// hcm is the portal's time zone.
var hcm = func() *time.Location {
	l, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return time.FixedZone("ICT", 7*3600)
	}
	return l
}()

// TimeFormat is the portal's time layout: yyyyMMddHHmmss in Asia/Ho_Chi_Minh.
const TimeFormat = "20060102150405"

// Time writes t as the portal does.
func Time(t time.Time) string { return t.In(hcm).Format(TimeFormat) }

func timep(t *time.Time) string {
	if t == nil {
		return ""
	}
	return Time(*t)
}

// MaxNameRunes bounds NguoiXuLy.
const MaxNameRunes = 50

// Names give the names the portal shows for codes.
type Names struct {
	Procedure string            // TenTTHC
	Agencies  map[string]string // unit code -> name (PhongBanXuLy)
}

func (n Names) agency(code string) string {
	if v := n.Agencies[code]; v != "" {
		return v
	}
	return code
}

// Supplement is one entry of DanhSachHoSoBoSung: a supplement request or
// the extension (apology and new appointment).
type Supplement struct {
	NoiDungBoSung      string `json:"NoiDungBoSung"`
	NgayBoSung         string `json:"NgayBoSung"`
	NgayTiepNhanBoSung string `json:"NgayTiepNhanBoSung,omitempty"`
	NgayHenTraTruoc    string `json:"NgayHenTraTruoc,omitempty"`
	NgayHenTraMoi      string `json:"NgayHenTraMoi,omitempty"`
}

// Record is the portal's record of a dossier (DongBoHoSoMC).
type Record struct {
	MaHoSo             string       `json:"MaHoSo"`
	MaTTHC             string       `json:"MaTTHC"`
	TenTTHC            string       `json:"TenTTHC"`
	KenhThucHien       int          `json:"KenhThucHien"`
	ChuHoSo            string       `json:"ChuHoSo"`
	SoGiayToChuHoSo    string       `json:"SoGiayToChuHoSo"`
	LoaiDoiTuong       int          `json:"LoaiDoiTuong"`
	SoDienThoai        string       `json:"SoDienThoai"`
	Email              string       `json:"Email"`
	NgayNopHoSo        string       `json:"NgayNopHoSo"`
	NgayTiepNhan       string       `json:"NgayTiepNhan"`
	NgayHenTra         string       `json:"NgayHenTra"`
	TrangThaiHoSo      int          `json:"TrangThaiHoSo"`
	DonViXuLy          string       `json:"DonViXuLy"`
	NgayKetThucXuLy    string       `json:"NgayKetThucXuLy,omitempty"`
	NgayTuChoi         string       `json:"NgayTuChoi,omitempty"`
	NgayTra            string       `json:"NgayTra,omitempty"`
	HinhThuc           *int         `json:"HinhThuc,omitempty"`
	DanhSachHoSoBoSung []Supplement `json:"DanhSachHoSoBoSung,omitempty"`
}

// Progress is one progress entry (CapNhatTienDoHoSoMC).
type Progress struct {
	MaHoSo                 string `json:"MaHoSo"`
	NguoiXuLy              string `json:"NguoiXuLy"`
	ChucDanh               string `json:"ChucDanh"`
	ThoiDiemXuLy           string `json:"ThoiDiemXuLy"`
	PhongBanXuLy           string `json:"PhongBanXuLy"`
	NoiDungXuLy            string `json:"NoiDungXuLy"`
	TrangThai              int    `json:"TrangThai"`
	NgayBatDau             string `json:"NgayBatDau"`
	NgayKetThucTheoQuyDinh string `json:"NgayKetThucTheoQuyDinh"`
}

// Channel codes of KenhThucHien (docs/domain.md, Who and what).
func channelCode(c domain.Channel) int {
	switch c {
	case domain.ChannelOnline:
		return 2
	case domain.ChannelPostal:
		return 3
	}
	return 1
}

// returnCode is HinhThuc: 0 counter, 1 postal, 2 online.
func returnCode(d domain.Delivery) int {
	switch d {
	case domain.DeliveryPostal:
		return 1
	case domain.DeliveryOnline:
		return 2
	}
	return 0
}

// RecordOf maps a dossier (with its history) to the portal's record. The
// status is the dossier's code as it is: never another (a supplement
// request, a payment wait or a stop is not shown as processed).
func RecordOf(d *domain.Dossier, n Names) Record {
	r := Record{
		MaHoSo: d.Code, MaTTHC: d.ProcedureCode, TenTTHC: n.Procedure, KenhThucHien: channelCode(d.Channel),
		ChuHoSo: d.Applicant.Name, SoGiayToChuHoSo: d.Applicant.IDNumber, LoaiDoiTuong: 1,
		SoDienThoai: d.Applicant.Phone, Email: d.Applicant.Email,
		NgayNopHoSo: Time(d.ReceivedAt), NgayHenTra: timep(d.Clock.DueAt),
		TrangThaiHoSo: d.Status.Code(), DonViXuLy: d.LeadAgencyCode,
		NgayKetThucXuLy: timep(d.ProcessedAt), NgayTra: timep(d.ReturnedAt),
	}
	for _, h := range d.History {
		// Received: counter and postal at intake, online on acceptance.
		if h.To == domain.StatusReceived && (h.From == 0 || h.From == domain.StatusNew) && r.NgayTiepNhan == "" {
			r.NgayTiepNhan = Time(h.At)
		}
	}
	if d.Status == domain.StatusRefused {
		r.NgayTuChoi = timep(d.ClosedAt)
	}
	if d.ReturnedAt != nil {
		c := returnCode(d.ReturnMethod)
		r.HinhThuc = &c
	}
	// One entry per supplement request (the deadline before it and after the
	// supplement, from the history) and one for the extension.
	var dueBefore *time.Time
	var open *Supplement
	for _, h := range d.History {
		switch domain.Action(h.Action) {
		case domain.ActionRequestSupplement:
			s := Supplement{NoiDungBoSung: "Yêu cầu bổ sung hồ sơ", NgayBoSung: Time(h.At), NgayHenTraTruoc: timep(dueBefore)}
			if h.Note != "" {
				s.NoiDungBoSung += ": " + h.Note
			}
			r.DanhSachHoSoBoSung = append(r.DanhSachHoSoBoSung, s)
			open = &r.DanhSachHoSoBoSung[len(r.DanhSachHoSoBoSung)-1]
		case domain.ActionReceiveSupplement:
			if open != nil {
				open.NgayTiepNhanBoSung, open.NgayHenTraMoi = Time(h.At), timep(h.DueAt)
				open = nil
			}
		}
		if h.DueAt != nil {
			dueBefore = h.DueAt
		}
	}
	if e := d.Extension; e != nil {
		r.DanhSachHoSoBoSung = append(r.DanhSachHoSoBoSung, Supplement{NoiDungBoSung: "Gia hạn, hẹn lại ngày trả kết quả: " + e.Reason,
			NgayBoSung: Time(e.RecordedAt), NgayHenTraTruoc: timep(d.Clock.DueAt), NgayHenTraMoi: Time(e.NewDueAt)})
	}
	return r
}

// Hash is the fingerprint of a record: the record is sent again when it
// changes.
func Hash(r Record) string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ProgressOf maps the history lines of a dossier to progress entries, in
// order. The unit of each line is the receiving unit for the one-stop
// unit's actions and the unit holding the step for the step officers'
// ones; NguoiXuLy is the person's name (the subject when the line has no
// name), at most 50 characters.
func ProgressOf(d *domain.Dossier, n Names) []Progress {
	out := make([]Progress, 0, len(d.History))
	step := 0 // the step held before the line
	stepUnit := func() string {
		if step >= 1 && step <= len(d.Steps) {
			return d.Steps[step-1].AgencyCode
		}
		return d.AgencyCode
	}
	for _, h := range d.History {
		unit := d.AgencyCode
		switch domain.Action(h.Action) {
		case domain.ActionCompleteStep, domain.ActionRequestSupplement, domain.ActionRequestPayment,
			domain.ActionExtend, domain.ActionStop:
			unit = stepUnit()
		case domain.ActionTransfer:
			step = 1
		}
		if h.Action == "calendar_changed" {
			unit = stepUnit()
		}
		if domain.Action(h.Action) == domain.ActionCompleteStep {
			if step < len(d.Steps) {
				step++
			} else {
				step = 0
			}
		}
		text := h.Action.Vietnamese() // the pages' wording (docs/domain.md)
		if text == "" {
			text = "Xử lý hồ sơ"
		}
		if h.Action == domain.ActionCompleteStep.History() && h.To == domain.StatusProcessed {
			text = "Hoàn thành giải quyết hồ sơ"
		}
		if note := strings.TrimSpace(h.Note); note != "" {
			text += ": " + note
		}
		start := d.CountingFrom
		if step >= 1 && step <= len(d.Steps) && d.Steps[step-1].StartedAt != nil {
			start = d.Steps[step-1].StartedAt
		}
		if start == nil {
			start = &d.ReceivedAt
		}
		end := h.StepDueAt
		if end == nil {
			end = h.DueAt
		}
		name := h.ActorName
		if name == "" {
			name = h.Actor
		}
		out = append(out, Progress{MaHoSo: d.Code, NguoiXuLy: cutRunes(name, MaxNameRunes), ChucDanh: h.ActorTitle,
			ThoiDiemXuLy: Time(h.At), PhongBanXuLy: n.agency(unit), NoiDungXuLy: text, TrangThai: h.To.Code(),
			NgayBatDau: Time(*start), NgayKetThucTheoQuyDinh: timep(end)})
	}
	return out
}

// cutRunes keeps at most n characters, never splitting one.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
