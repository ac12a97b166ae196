package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
)

// The Vietnamese words of the pages. Times are shown as hh:mm dd/mm/yyyy in
// Vietnam's time, as the Circular 03/2025 forms print them.

const vnTimeLayout = "15:04 02/01/2006"

// actionNameVN is an action's or history line's Vietnamese name
// (docs/domain.md), or its code when it has none. Templates pass a
// history line's action or an action's code.
func actionNameVN(a any) string {
	var h domain.HistoryAction
	switch a := a.(type) {
	case domain.HistoryAction:
		h = a
	case domain.Action:
		h = a.History()
	case string:
		h = domain.HistoryAction(a)
	}
	if v := h.Vietnamese(); v != "" {
		return v
	}
	return string(h)
}

var verdictNamesVN = map[string]string{
	string(domain.VerdictOpen):   "Đang xử lý",
	string(domain.VerdictEarly):  "Trước hạn",
	string(domain.VerdictOnTime): "Đúng hạn",
	string(domain.VerdictLate):   "Quá hạn",
}

var channelNamesVN = map[string]string{
	string(domain.ChannelCounter): "Trực tiếp tại Bộ phận Một cửa",
	string(domain.ChannelOnline):  "Trực tuyến",
	string(domain.ChannelPostal):  "Qua dịch vụ bưu chính công ích",
}

var deliveryNamesVN = map[string]string{
	string(domain.DeliveryCounter): "Nhận trực tiếp tại Bộ phận Một cửa",
	string(domain.DeliveryPostal):  "Qua dịch vụ bưu chính công ích",
	string(domain.DeliveryOnline):  "Trực tuyến",
}

var resultNamesVN = map[string]string{
	domain.ResultApproved: "Chấp thuận (giải quyết theo đề nghị)",
	domain.ResultDenied:   "Không chấp thuận (có văn bản trả lời, nêu rõ lý do)",
}

var roleNamesVN = map[domain.Role]string{
	domain.RoleClerk:      "Cán bộ một cửa",
	domain.RoleOfficer:    "Chuyên viên xử lý",
	domain.RoleSupervisor: "Lãnh đạo, giám sát",
	domain.RoleAdmin:      "Quản trị",
}

func vnTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(domain.Vietnam()).Format(vnTimeLayout)
}

// whenOf formats a time, a *time.Time (nil is "—") or nothing else.
func whenOf(v any) string {
	switch t := v.(type) {
	case time.Time:
		return vnTime(t)
	case *time.Time:
		if t == nil {
			return "—"
		}
		return vnTime(*t)
	}
	return "—"
}

// workingTime says a budget of working minutes in days or hours.
func workingTime(minutes int64) string {
	if minutes <= 0 {
		return "—"
	}
	if minutes%domain.MinutesPerWorkingDay == 0 {
		return strconv.FormatInt(minutes/domain.MinutesPerWorkingDay, 10) + " ngày làm việc"
	}
	if (2*minutes)%domain.MinutesPerWorkingDay == 0 {
		return strings.Replace(strconv.FormatFloat(float64(minutes)/domain.MinutesPerWorkingDay, 'f', 1, 64), ".", ",", 1) + " ngày làm việc"
	}
	h := float64(minutes) / 60
	return trimNum(h) + " giờ làm việc"
}

// trimNum prints a number the Vietnamese way (decimal comma), at most two decimals.
func trimNum(f float64) string {
	s := strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
	return strings.Replace(s, ".", ",", 1)
}

// percent prints a share (nil: no figure).
func percent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strings.Replace(strconv.FormatFloat(*v*100, 'f', 1, 64), ".", ",", 1) + "%"
}

func money(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return b.String() + " đồng"
}

func lookupName(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

var templateFuncs = template.FuncMap{
	"when":    whenOf,
	"status":  handlers.StatusNameVN,
	"action":  actionNameVN,
	"verdict": func(v string) string { return lookupName(verdictNamesVN, v) },
	"channel": func(v string) string { return lookupName(channelNamesVN, v) },
	"deliver": func(v string) string { return lookupName(deliveryNamesVN, v) },
	"result":  func(v string) string { return lookupName(resultNamesVN, v) },
	"role":    func(r domain.Role) string { return roleNamesVN[r] },
	"worktime": func(m int64) string {
		return workingTime(m)
	},
	"hours":   func(f float64) string { return trimNum(f) },
	"percent": percent,
	"deref": func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return *v
	},
	"minutes":  func(m int64) string { return trimNum(math.Round(float64(m)/60*100) / 100) },
	"money":    money,
	"name":     lookupName,
	"latelink": lateLink,
	"inc":      func(i int) int { return i + 1 },
	"num":      func(n int64) string { return strconv.FormatInt(n, 10) },
	"statusClass": func(s domain.Status) string {
		switch {
		case s == domain.StatusReturned || s == domain.StatusProcessed:
			return "ok"
		case s == domain.StatusRefused || s == domain.StatusWithdrawn || s == domain.StatusStopped:
			return "off"
		case s.Paused():
			return "warn"
		}
		return "info"
	},
	"verdictClass": func(v string) string {
		switch v {
		case string(domain.VerdictLate):
			return "bad"
		case string(domain.VerdictEarly), string(domain.VerdictOnTime):
			return "ok"
		}
		return "info"
	},
	"add":   func(a, b int) int { return a + b },
	"upper": strings.ToUpper,
	"dateVN": func(t time.Time) string {
		l := t.In(domain.Vietnam())
		return fmt.Sprintf("ngày %02d tháng %02d năm %04d", l.Day(), l.Month(), l.Year())
	},
	"hasRole": func(a *domain.Actor, roles ...string) bool {
		if a == nil {
			return false
		}
		for _, r := range roles {
			if a.Has(domain.Role(r)) {
				return true
			}
		}
		return false
	},
	"fieldLabel": func(f string) string { return lookupName(fieldLabelsVN, f) },
	"person":     person,
	"receiver":   receiver,
	"handedBy":   handedBy,
	// Notifications to the applicant (pages_notify.go).
	"consent": consentVN, "notifyEvent": notifyEventVN, "notifyStatus": notifyStatusVN, "notifyChannel": notifyChannelVN,
}

// person is who wrote a history line as people read it: the name and title
// the token carried, the subject only when the token had no name.
func person(h domain.HistoryEntry) string {
	switch {
	case h.ActorName != "" && h.ActorTitle != "":
		return h.ActorName + " (" + h.ActorTitle + ")"
	case h.ActorName != "":
		return h.ActorName
	}
	return h.Actor
}

// receiver is the name of the clerk who received the dossier (the receive
// line, or the acceptance of an online one), for the receipt's signature.
func receiver(d *domain.Dossier) string {
	for _, h := range d.History {
		if h.Action == domain.HistoryReceive || h.Action == domain.ActionAccept.History() {
			if h.ActorName != "" {
				return h.ActorName
			}
			return ""
		}
	}
	return ""
}

// handedBy is the person whose action made a hand-off of the control slip
// (the history line written in the same transaction, at the same instant).
func handedBy(d *domain.Dossier, at time.Time) string {
	for _, h := range d.History {
		if h.At.Equal(at) {
			return person(h)
		}
	}
	return ""
}

// fieldLabelsVN names the fields of the forms in messages.
var fieldLabelsVN = map[string]string{
	"reason": "Lý do", "items": "Giấy tờ cần bổ sung", "result": "Kết quả", "amount": "Số tiền", "new_due_at": "Thời gian hẹn mới",
	"method": "Hình thức trả kết quả", "note": "Ghi chú", "version": "Phiên bản hồ sơ", "action": "Thao tác",
	"received_from": "Nhận từ ngày", "received_to": "Đến ngày", "status": "Trạng thái", "procedure_code": "Thủ tục",
	"agency_code": "Đơn vị", "cursor": "Trang", "limit": "Số dòng",
}
