package handlers

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
)

// ProblemTypeBase prefixes the stable problem type URIs (README lists them).
const ProblemTypeBase = "https://motcua.gov.vn/problems/"

// Problem is an RFC 9457 problem document with the contract's extensions.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []ProblemField `json:"errors,omitempty"`
	// Allowed lists the actions allowed now, on invalid_transition only
	// (empty for a final status).
	Allowed *[]string `json:"allowed_actions,omitempty"`
}

// ProblemField is one bad input field.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

var titles = map[string]string{
	"validation_failed":      "Dữ liệu không hợp lệ",
	"not_found":              "Không tìm thấy",
	"invalid_transition":     "Thao tác không được phép ở trạng thái hiện tại",
	"version_conflict":       "Hồ sơ đã được người khác cập nhật",
	"duplicate":              "Đã tồn tại",
	"idempotency_key_reused": "Idempotency-Key đã dùng cho yêu cầu khác",
	"forbidden":              "Không có quyền",
	"unauthorized":           "Chưa xác thực",
	"bad_request":            "Yêu cầu sai định dạng",
	"unsupported_media_type": "Kiểu nội dung không được hỗ trợ",
	"payload_too_large":      "Nội dung quá lớn",
	"method_not_allowed":     "Phương thức không được hỗ trợ",
	"too_many_requests":      "Quá nhiều yêu cầu",
	"internal":               "Lỗi hệ thống",
	"unavailable":            "Dịch vụ chưa sẵn sàng",
}

var kindStatus = map[domain.Kind]int{
	domain.Invalid:      http.StatusUnprocessableEntity,
	domain.NotFound:     http.StatusNotFound,
	domain.Conflict:     http.StatusConflict,
	domain.Forbidden:    http.StatusForbidden,
	domain.Unauthorized: http.StatusUnauthorized,
	domain.TooMany:      http.StatusTooManyRequests,
	domain.Unavailable:  http.StatusServiceUnavailable,
}

var statusCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       "too_many_requests",
	http.StatusServiceUnavailable:    "unavailable",
}

// retryAfterSeconds is the Retry-After of a 503: about what a PostgreSQL
// switch-over takes (docs/operations.md).
const retryAfterSeconds = "5"

// problemFor maps any error to its problem document, once for the whole API.
func problemFor(err error) Problem {
	var de *domain.Error
	if errors.As(err, &de) {
		status, ok := kindStatus[de.Kind]
		if !ok {
			status = http.StatusInternalServerError
		}
		p := Problem{Status: status, Code: de.Code, Detail: de.Detail}
		if de.Code == "invalid_transition" {
			allowed := append([]string{}, de.Allowed...)
			p.Allowed = &allowed
		}
		for _, f := range de.Fields {
			p.Errors = append(p.Errors, ProblemField{Field: f.Field, Message: f.Message})
		}
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, ok := statusCodes[he.Code]
		if !ok {
			code = "internal"
		}
		detail := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			detail = m
		}
		return Problem{Status: he.Code, Code: code, Detail: detail}
	}
	return Problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "Đã có lỗi hệ thống; vui lòng thử lại sau."}
}

// errorHandler is echo's HTTPErrorHandler: every error leaves as a problem
// document; internal errors are logged with the request id, never shown.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemFor(err)
		p.Type = ProblemTypeBase + p.Code
		if t, ok := titles[p.Code]; ok {
			p.Title = t
		} else {
			p.Title = http.StatusText(p.Status)
		}
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			log.Error("request failed", "request_id", p.RequestID, "method", c.Request().Method, "path", p.Instance, "err", err)
		}
		if p.Status == http.StatusServiceUnavailable {
			// The database or NATS is out of reach (a switch-over takes a
			// few seconds): clients and balancers try again.
			c.Response().Header().Set("Retry-After", retryAfterSeconds)
		}
		if p.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="motcua"`)
		}
		writeProblem(c, p)
	}
}

func writeProblem(c echo.Context, p Problem) {
	b, _ := json.Marshal(p)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_, _ = c.Response().Write(b)
}
