package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error so the HTTP layer can map it once.
type Kind uint8

// Error kinds. Anything that is not a *Error counts as Internal.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Forbidden
	Unauthorized
	TooMany
	// Unavailable is a dependency (the database) that cannot be reached
	// now: HTTP 503 with Retry-After, so clients and balancers try again.
	Unavailable
)

// Error codes: the stable machine keys of problem documents (README lists
// them all, with their HTTP status). Each has a Vietnamese title in Titles.
const (
	CodeBadRequest           = "bad_request"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeCSRF                 = "csrf"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeVersionConflict      = "version_conflict"
	CodeInvalidTransition    = "invalid_transition"
	CodeDuplicate            = "duplicate"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeAlreadyRated         = "already_rated"
	CodeAlreadyExtended      = "already_extended"
	CodeNoSteps              = "no_steps"
	CodeNotReturned          = "not_returned"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeValidationFailed     = "validation_failed"
	CodeTooManyRequests      = "too_many_requests"
	CodeInternal             = "internal"
	CodeUnavailable          = "unavailable"
)

// Titles are the Vietnamese titles of the error codes, the one list of them.
var Titles = map[string]string{
	CodeBadRequest:           "Yêu cầu sai định dạng",
	CodeUnauthorized:         "Chưa xác thực",
	CodeForbidden:            "Không có quyền",
	CodeCSRF:                 "Biểu mẫu đã hết hạn hoặc không hợp lệ",
	CodeNotFound:             "Không tìm thấy",
	CodeMethodNotAllowed:     "Phương thức không được hỗ trợ",
	CodeVersionConflict:      "Hồ sơ đã được người khác cập nhật",
	CodeInvalidTransition:    "Thao tác không được phép ở trạng thái hiện tại",
	CodeDuplicate:            "Đã tồn tại",
	CodeIdempotencyKeyReused: "Idempotency-Key đã dùng cho yêu cầu khác",
	CodeAlreadyRated:         "Hồ sơ đã được đánh giá",
	CodeAlreadyExtended:      "Hồ sơ đã được gia hạn",
	CodeNoSteps:              "Thủ tục không có bước xử lý",
	CodeNotReturned:          "Hồ sơ chưa trả kết quả",
	CodePayloadTooLarge:      "Nội dung quá lớn",
	CodeUnsupportedMediaType: "Kiểu nội dung không được hỗ trợ",
	CodeValidationFailed:     "Dữ liệu không hợp lệ",
	CodeTooManyRequests:      "Quá nhiều yêu cầu",
	CodeInternal:             "Lỗi hệ thống",
	CodeUnavailable:          "Dịch vụ chưa sẵn sàng",
}

// FieldError names one bad input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is a rule violation with a stable machine code from the contract
// (validation_failed, not_found, invalid_transition, version_conflict, ...).
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	// Allowed lists the actions allowed in the current status, for invalid_transition.
	Allowed []string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%s: %s)", e.Code, e.Detail, e.Fields[0].Field, e.Fields[0].Message)
	}
	return e.Code + ": " + e.Detail
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Invalidf reports input that breaks a rule (HTTP 422).
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: CodeValidationFailed, Detail: fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing thing (HTTP 404).
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: CodeNotFound, Detail: fmt.Sprintf(format, args...)}
}

// Conflictf reports a conflict with the current state (HTTP 409).
func Conflictf(code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Forbiddenf reports an actor without the right role or agency (HTTP 403).
func Forbiddenf(format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Code: CodeForbidden, Detail: fmt.Sprintf(format, args...)}
}

// Fields collects field errors and turns them into one validation error.
type Fields []FieldError

// Add records a bad field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no field was bad, else a validation_failed error.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: CodeValidationFailed, Detail: "Dữ liệu không hợp lệ", Fields: f}
}
