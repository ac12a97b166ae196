package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
)

var notifyChannelNamesVN = map[domain.NotifyChannel]string{domain.NotifySMS: "SMS", domain.NotifyEmail: "thư điện tử"}

// consentVN names the channels the applicant is told by ("SMS, thư điện
// tử"), as printed on the receipt.
func consentVN(c domain.Consent) string {
	if len(c) == 0 {
		return "không đăng ký"
	}
	var parts []string
	for _, ch := range c {
		parts = append(parts, notifyChannelNamesVN[ch])
	}
	return strings.Join(parts, ", ")
}

func notifyChannelVN(ch domain.NotifyChannel) string { return notifyChannelNamesVN[ch] }

var notifyEventNamesVN = map[domain.EventType]string{
	domain.EventReceived: "Tiếp nhận", domain.EventSupplementRequested: "Yêu cầu bổ sung",
	domain.EventExtended: "Xin lỗi, hẹn lại", domain.EventRefused: "Từ chối tiếp nhận", domain.EventStopped: "Dừng giải quyết",
	domain.EventProcessed: "Có kết quả", domain.EventReturned: "Đã trả kết quả",
}

func notifyEventVN(e domain.EventType) string {
	if v, ok := notifyEventNamesVN[e]; ok {
		return v
	}
	return string(e)
}

func notifyStatusVN(s domain.NotificationStatus) string {
	return map[domain.NotificationStatus]string{domain.NotificationPending: "Đang chờ gửi", domain.NotificationSent: "Đã gửi",
		domain.NotificationFailed: "Không gửi được"}[s]
}

// notifyPost records the channels the applicant now wants to be told by.
func (p *pages) notifyPost(c echo.Context) error {
	version, _ := strconv.Atoi(c.FormValue("version"))
	form, _ := c.FormParams()
	asked := form["notify"]
	if asked == nil {
		asked = []string{}
	}
	code := c.Param("code")
	if _, err := p.svc.SetNotify(c.Request().Context(), handlers.ActorOf(c), service.SetNotifyCmd{Code: code, Version: version, Notify: asked}); err != nil {
		return p.actionFailed(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/can-bo/ho-so/"+url.PathEscape(code)+"?ok="+string(domain.ActionSetNotify))
}
