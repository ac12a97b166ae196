package handlers

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/motcua/motcua/domain"
)

// viMessages is the one catalogue of what problem documents say to people:
// each English message the domain, service, store or handlers write (the
// format string, as in the source) beside its Vietnamese wording, with the
// same verbs in the same order. Problem documents and pages carry the
// Vietnamese; the English stays in logs and in the code's own errors. A new
// error adds its line here; TestEveryMessageHasVietnamese finds those
// missing.
var viMessages = map[string]string{
	// Catalogue: agencies and procedures.
	"must be an agency electronic ID such as 000.00.07.H29 (upper-case letters and digits in dot-separated groups, at most 35 characters)": "phải là mã định danh điện tử của cơ quan, ví dụ 000.00.07.H29 (chữ in hoa và chữ số, các nhóm cách nhau bằng dấu chấm, tối đa 35 ký tự)",
	"is required (at most 300 characters)":                         "là bắt buộc (tối đa 300 ký tự)",
	"is not a valid agency code":                                   "không phải mã cơ quan hợp lệ",
	"cannot be the agency itself":                                  "không được là chính cơ quan này",
	"an agency cannot be its own ancestor":                         "một cơ quan không thể là cấp trên của chính nó",
	"would make a cycle":                                           "sẽ tạo thành vòng lặp cấp trên - cấp dưới",
	"unknown parent agency":                                        "không có cơ quan cấp trên này",
	"no agency has the code %s":                                    "không có cơ quan nào mang mã %s",
	"no agency has this code":                                      "không có cơ quan nào mang mã này",
	"no agency %q":                                                 "không có cơ quan %s",
	"no procedure %q":                                              "không có thủ tục %s",
	"only an administrator may change agencies":                    "chỉ quản trị viên được thay đổi danh mục cơ quan",
	"only an administrator may change procedures":                  "chỉ quản trị viên được thay đổi danh mục thủ tục",
	"only an administrator may change the calendar":                "chỉ quản trị viên được thay đổi lịch làm việc",
	"must be a procedure code such as 1.001445 or 1.000948.H38":    "phải là mã thủ tục, ví dụ 1.001445 hoặc 1.000948.H38",
	"is required (at most 500 characters)":                         "là bắt buộc (tối đa 500 ký tự)",
	"%s":                                                           "%s",
	"does not match its minutes":                                   "không khớp với số phút đã tính",
	"must be restart or pause":                                     "phải là restart (tính lại từ đầu) hoặc pause (tạm dừng)",
	"must be full, partial or none":                                "phải là full, partial hoặc none",
	"at most 50 steps":                                             "tối đa 50 bước",
	"allotments add up to %s working hours, the duration is %s":    "tổng thời gian các bước là %s giờ làm việc, khác thời hạn giải quyết %s",
	"is required: {\"working_days\": N} or {\"working_hours\": N}": "là bắt buộc: {\"working_days\": N} hoặc {\"working_hours\": N}",
	"duration must be greater than 0":                              "thời hạn phải lớn hơn 0",
	"working days must be whole or half days":                      "số ngày làm việc phải là số nguyên hoặc nửa ngày",
	"working hours must be whole minutes":                          "số giờ làm việc phải quy ra số phút nguyên",
	"unknown duration unit %q":                                     "không có đơn vị thời hạn %s",
	"duration is over 1000 working days":                           "thời hạn vượt quá 1000 ngày làm việc",
	"office hours must give at least one day with hours (mon, tue, wed, thu, fri, sat or sun)": "giờ làm việc phải có ít nhất một ngày (mon, tue, wed, thu, fri, sat hoặc sun)",
	"unknown day %q: use mon, tue, wed, thu, fri, sat or sun":                                  "không có ngày %s: dùng mon, tue, wed, thu, fri, sat hoặc sun",
	"%s: %q overlaps or comes before %q: list the periods of a day in order, without overlaps": "%s: %s trùng hoặc đứng trước %s: liệt kê các khoảng giờ trong ngày theo thứ tự, không chồng lấn",
	"%s: period %d (%d-%d minutes) must lie within 00:00-24:00 and start before it ends":       "%s: khoảng thứ %s (%s-%s phút) phải nằm trong 00:00-24:00 và bắt đầu trước khi kết thúc",
	"%s: %q is not a period HH:MM-HH:MM":                                                       "%s: %s không phải khoảng giờ HH:MM-HH:MM",
	"%s: %q is not a period HH:MM-HH:MM within 00:00-24:00":                                    "%s: %s không phải khoảng giờ HH:MM-HH:MM trong 00:00-24:00",
	"%s: %q must start before it ends":                                                         "%s: %s phải bắt đầu trước khi kết thúc",

	// Calendar and durations.
	"must be holiday or workday":                                           "phải là holiday (ngày nghỉ) hoặc workday (ngày làm bù)",
	"must be a year from 1900 to 2200":                                     "phải là năm từ 1900 đến 2200",
	"no day recorded on %s":                                                "không có ngày nào được ghi cho %s",
	"not a date (YYYY-MM-DD): %q":                                          "không phải ngày (YYYY-MM-DD): %s",
	"must be an RFC 3339 time with offset, e.g. 2026-03-16T08:00:00+07:00": "phải là thời điểm RFC 3339 có múi giờ, ví dụ 2026-03-16T08:00:00+07:00",
	"give working_days or working_hours, not both":                         "chỉ nhập working_days hoặc working_hours, không nhập cả hai",
	"give working_days or working_hours":                                   "hãy nhập working_days hoặc working_hours",
	"must be a number":                                                     "phải là một số",
	"working days must be a number greater than 0":                         "số ngày làm việc phải là số lớn hơn 0",
	"working days must be at most 1000":                                    "số ngày làm việc tối đa là 1000",
	"working days must be whole or half days (e.g. 0.5, 1, 2.5), not %v":   "số ngày làm việc phải là số nguyên hoặc nửa ngày (ví dụ 0.5, 1, 2.5), không phải %s",
	"working hours must be a number greater than 0":                        "số giờ làm việc phải là số lớn hơn 0",
	"working hours must be at most 8000 (1000 working days)":               "số giờ làm việc tối đa là 8000 (1000 ngày làm việc)",
	"working hours must come to whole minutes (e.g. 1.5 or 0.25), not %v":  "số giờ làm việc phải quy ra số phút nguyên (ví dụ 1.5 hoặc 0.25), không phải %s",

	// Intake.
	"is required (at most 50 characters)":                     "là bắt buộc (tối đa 50 ký tự)",
	"at most 30 characters":                                   "tối đa 30 ký tự",
	"is not an e-mail address":                                "không phải địa chỉ thư điện tử",
	"at most 500 characters":                                  "tối đa 500 ký tự",
	"at most 100 documents":                                   "tối đa 100 giấy tờ",
	"must be counter, online or postal":                       "phải là counter (tại quầy), online (trực tuyến) hoặc postal (bưu chính)",
	"must be counter, postal or online":                       "phải là counter (tại quầy), postal (bưu chính) hoặc online (trực tuyến)",
	"the procedure is not offered online":                     "thủ tục này không được cung cấp trực tuyến",
	"only a clerk of the receiving unit may take in dossiers": "chỉ cán bộ một cửa của đơn vị tiếp nhận được tiếp nhận hồ sơ",
	"a clerk takes in dossiers for their own unit only":       "cán bộ một cửa chỉ tiếp nhận hồ sơ cho đơn vị của mình",
	"no receiving unit":                                       "chưa có đơn vị tiếp nhận",
	"give the receiving unit's code":                          "hãy nhập mã đơn vị tiếp nhận",
	"only an administrator may give received_at":              "chỉ quản trị viên được nhập received_at",
	"cannot be in the future":                                 "không được ở tương lai",
	"is not a procedure code such as 1.001445":                "không phải mã thủ tục, ví dụ 1.001445",
	"no procedure has this code":                              "không có thủ tục nào mang mã này",
	"the receiving unit is not in the catalogue":              "đơn vị tiếp nhận không có trong danh mục",
	"this Idempotency-Key was used with a different request":  "Idempotency-Key này đã được dùng cho một yêu cầu khác",
	"Idempotency-Key is over 200 characters":                  "Idempotency-Key dài quá 200 ký tự",
	"at most 200 characters":                                  "tối đa 200 ký tự",

	// Dossiers, transitions.
	"no dossier %q": "không có hồ sơ %s",
	"no dossier":    "không có hồ sơ",
	"no %s":         "không tìm thấy %s",
	"the dossier belongs to agencies you do not work for":                                     "hồ sơ thuộc cơ quan mà bạn không công tác",
	"the dossier's procedure version has no processing steps":                                 "phiên bản thủ tục của hồ sơ không có bước xử lý",
	"no step is being processed":                                                              "không có bước nào đang được xử lý",
	"the dossier was already extended on %s; only one new appointment is allowed":             "hồ sơ đã được gia hạn ngày %s; chỉ được hẹn lại một lần",
	"the dossier has no legal deadline to extend":                                             "hồ sơ không có hạn giải quyết để gia hạn",
	"no %s pause is open":                                                                     "không có lần tạm dừng %s nào đang mở",
	"is required for %s":                                                                      "là bắt buộc với %s",
	"at most %d characters":                                                                   "tối đa %s ký tự",
	"list 1 to %d missing documents or corrections":                                           "liệt kê từ 1 đến %s giấy tờ cần bổ sung hoặc điểm cần sửa",
	"only for request_supplement":                                                             "chỉ dùng với request_supplement",
	"the last step needs a result: approved or denied":                                        "bước cuối cần có kết quả: approved (chấp thuận) hoặc denied (từ chối)",
	"a result is given on the last step only (step %d of %d is current)":                      "chỉ nhập kết quả ở bước cuối (đang ở bước %s trên %s)",
	"only for complete_step on the last step":                                                 "chỉ dùng với complete_step ở bước cuối",
	"must be greater than 0 (VND)":                                                            "phải lớn hơn 0 (đồng)",
	"only for request_payment":                                                                "chỉ dùng với request_payment",
	"only for return_result":                                                                  "chỉ dùng với return_result",
	"is required: the new appointment":                                                        "là bắt buộc: ngày hẹn mới",
	"must be after the legal deadline %s":                                                     "phải sau hạn giải quyết %s",
	"must be in the future":                                                                   "phải ở tương lai",
	"must be within 1000 working days of the legal deadline":                                  "phải trong vòng 1000 ngày làm việc kể từ hạn giải quyết",
	"only for extend":                                                                         "chỉ dùng với extend",
	"unknown action":                                                                          "không có thao tác này",
	"must be one of the contract's transition actions":                                        "phải là một trong các thao tác chuyển trạng thái của hợp đồng API",
	"action %s is not allowed when the dossier is %s":                                         "không được thực hiện thao tác %s khi hồ sơ đang ở trạng thái %s",
	"%s is for clerks of the receiving one-stop unit %s":                                      "thao tác %s dành cho cán bộ một cửa của đơn vị tiếp nhận %s",
	"%s is for officers of %s, the unit holding step %d":                                      "thao tác %s dành cho cán bộ của %s, đơn vị đang giữ bước %s",
	"%s is for officers of the unit holding the current step, and no step is being processed": "thao tác %s dành cho cán bộ của đơn vị đang giữ bước hiện tại, nhưng không có bước nào đang xử lý",
	"the dossier is at version %d, you read version %d":                                       "hồ sơ đang ở phiên bản %s, bạn đã đọc phiên bản %s; hãy tải lại",
	"the dossier changed since version %d was read":                                           "hồ sơ đã thay đổi kể từ phiên bản %s bạn đã đọc; hãy tải lại",
	"receipts are printed by clerks of the receiving unit %s":                                 "giấy hẹn do cán bộ một cửa của đơn vị tiếp nhận %s in",
	"is not the dossier's current look-up PIN":                                                "không phải mã tra cứu hiện tại của hồ sơ",
	"is required: the version of the dossier you read":                                        "là bắt buộc: phiên bản hồ sơ bạn đã đọc",
	"must be from 1 to 5":                                                                     "phải từ 1 đến 5",
	"at most 2000 characters":                                                                 "tối đa 2000 ký tự",
	"a rating is taken after the result is returned":                                          "chỉ đánh giá được sau khi đã trả kết quả",
	"this dossier was already rated":                                                          "hồ sơ này đã được đánh giá",
	"%s already exists":                                                                       "%s đã tồn tại",
	"%s refers to something that does not exist":                                              "%s tham chiếu tới dữ liệu không tồn tại",

	"must be a name of at most 500 characters": "phải là tên dài tối đa 500 ký tự",
	"must be a date YYYY-MM-DD":                "phải là ngày dạng YYYY-MM-DD",
	"is required":                              "là bắt buộc",
	"must be greater than 0":                   "phải lớn hơn 0",
	"must be a text of 1 to %d characters":     "phải là văn bản dài từ 1 đến %s ký tự",

	"is required, e.g. year=2026":      "là bắt buộc, ví dụ year=2026",
	"must be csv or xlsx":              "phải là csv hoặc xlsx",
	"must be json, csv or xlsx":        "phải là json, csv hoặc xlsx",
	"is not the dossier's look-up PIN": "không phải mã tra cứu của hồ sơ",

	// Lists and reports.
	"must be from 1 to 500":                           "phải từ 1 đến 500",
	"is not a status name":                            "không phải tên trạng thái",
	"is not a procedure code":                         "không phải mã thủ tục",
	"is not an agency code":                           "không phải mã cơ quan",
	"must not be after received_to":                   "không được sau received_to",
	"is not a cursor this service gave":               "không phải con trỏ trang do hệ thống cấp",
	"agency %s is not yours to see":                   "bạn không được xem hồ sơ của cơ quan %s",
	"staff only":                                      "chỉ dành cho cán bộ",
	"reports are for supervisors and administrators":  "báo cáo dành cho cán bộ giám sát và quản trị viên",
	"is not an agency code such as 000.00.07.H29":     "không phải mã cơ quan, ví dụ 000.00.07.H29",
	"agency %s is outside the agencies you supervise": "cơ quan %s nằm ngoài phạm vi bạn giám sát",
	"give period, or from and to, not both":           "nhập period, hoặc from và to, không nhập cả hai",
	"give period (e.g. 2026-Q1, stat:2026-03) or both from and to (YYYY-MM-DD)": "nhập period (ví dụ 2026-Q1, stat:2026-03) hoặc cả from và to (YYYY-MM-DD)",
	"must be a date that exists, as YYYY-MM-DD":                                 "phải là ngày có thật, dạng YYYY-MM-DD",
	"must be agency or procedure":                                               "phải là agency hoặc procedure",
	"the period has not begun":                                                  "kỳ báo cáo chưa bắt đầu",
	"must not be after to":                                                      "không được sau to",
	"the period is longer than %d years":                                        "kỳ báo cáo dài hơn %s năm",
	"the period must lie within 1900-2299":                                      "kỳ báo cáo phải nằm trong khoảng 1900-2299",
	"must be YYYY, YYYY-MM or YYYY-Qn, optionally prefixed by stat: (e.g. 2026-03, 2026-Q1, stat:2026-Q1)": "phải có dạng YYYY, YYYY-MM hoặc YYYY-Qn, có thể có tiền tố stat: (ví dụ 2026-03, 2026-Q1, stat:2026-Q1)",
	"an export holds the whole list: leave out limit and cursor":                                           "tệp xuất chứa toàn bộ danh sách: bỏ limit và cursor",
	"must be a positive integer": "phải là số nguyên dương",
	"must be true or false":      "phải là true hoặc false",

	// The list's lateness filter.
	"late_unit or late_officer is required with from, to and late_first": "cần late_unit hoặc late_officer khi có from, to hoặc late_first",
	"is required with late_unit or late_officer":                         "bắt buộc khi có late_unit hoặc late_officer",
	"must be at most 200 characters":                                     "tối đa 200 ký tự",

	// Access and requests.
	"a bearer token is required":                        "cần mã truy cập (bearer token)",
	"a bearer token or a signed-in session is required": "cần mã truy cập (bearer token) hoặc đăng nhập",
	"no valid session":                                  "phiên đăng nhập không hợp lệ hoặc đã hết hạn",
	"this needs one of the roles %s":                    "cần một trong các vai trò %s",
	"this page needs one of the roles %s":               "trang này cần một trong các vai trò %s",
	"the form's CSRF token is missing or wrong":         "biểu mẫu thiếu mã chống giả mạo (CSRF) hoặc mã không đúng; hãy tải lại trang",
	"too many requests":                                 "quá nhiều yêu cầu; vui lòng thử lại sau giây lát",
	"cannot identify the client":                        "không xác định được máy khách",
	"OpenID Connect is not configured":                  "chưa cấu hình đăng nhập OpenID Connect",
	"no such asset":                                     "không có tệp này",
	"not found":                                         "không tìm thấy",
	"send the body as application/json":                 "hãy gửi nội dung dạng application/json",
	"the body is over 1 MiB":                            "nội dung vượt quá 1 MiB",
	"could not read the body":                           "không đọc được nội dung yêu cầu",
	"malformed JSON: data after the object":             "JSON sai định dạng: có dữ liệu sau đối tượng",
	"malformed JSON: syntax error at byte %d":           "JSON sai định dạng: lỗi cú pháp ở byte %s",
	"malformed JSON: field %q must be %s":               "JSON sai định dạng: trường %s phải có kiểu %s",
	"malformed JSON: empty body":                        "JSON sai định dạng: nội dung rỗng",
	"malformed JSON: unknown field %s":                  "JSON sai định dạng: không có trường %s",
	"malformed JSON: cannot decode":                     "JSON sai định dạng: không giải mã được",
	// echo's own texts for routing errors.
	"Not Found":                "không có đường dẫn này",
	"Method Not Allowed":       "đường dẫn này không nhận phương thức đã dùng",
	"Unauthorized":             "chưa xác thực",
	"Forbidden":                "không có quyền",
	"Bad Request":              "yêu cầu sai định dạng",
	"Request Entity Too Large": "nội dung quá lớn",
	"Unsupported Media Type":   "kiểu nội dung không được hỗ trợ",
	"Too Many Requests":        "quá nhiều yêu cầu",
	"Service Unavailable":      "dịch vụ tạm thời chưa sẵn sàng; vui lòng thử lại sau",
	"Internal Server Error":    "đã có lỗi hệ thống; vui lòng thử lại sau",

	// Added with the notifications, the portal sync, sessions, the new
	// reports and the calendar's recompute jobs.
	"dossiers are for staff of an agency":                     "hồ sơ chỉ dành cho cán bộ của một cơ quan",
	"no recompute %q":                                         "không có lượt tính lại thời hạn %s",
	"only an administrator may see the calendar's recomputes": "chỉ quản trị viên được xem các lượt tính lại thời hạn theo lịch",
	"notify is required":                                      "notify là bắt buộc",
	"give the channels: [], [\"sms\"], [\"email\"] or both":   "ghi các kênh: [], [\"sms\"], [\"email\"] hoặc cả hai",
	"must be sms or email":                                    "phải là sms hoặc email",
	"%s is given twice":                                       "%s được ghi hai lần",
	"only a clerk of the receiving unit may change how the applicant is told":     "chỉ cán bộ một cửa của đơn vị tiếp nhận được thay đổi cách báo cho người nộp",
	"only the receiving unit's clerks may change how the applicant is told":       "chỉ cán bộ một cửa của đơn vị tiếp nhận được thay đổi cách báo cho người nộp",
	"is required to be told by SMS":                                               "là bắt buộc để nhận thông báo qua SMS",
	"is not a Vietnamese mobile number (10 digits such as 0912345678, or +84...)": "không phải số di động Việt Nam (10 chữ số như 0912345678, hoặc +84...)",
	"give the version of the dossier you read":                                    "ghi phiên bản hồ sơ mà bạn đã đọc",
	"is required to be told by e-mail":                                            "là bắt buộc để nhận thông báo qua thư điện tử",
	"must be a local date and time, e.g. 2026-03-31T17:00":                        "phải là ngày giờ địa phương, ví dụ 2026-03-31T17:00",
	"must not be in the future: the list says what was overdue, not what will be": "không được ở tương lai: danh sách cho biết hồ sơ đã quá hạn, không đoán hồ sơ sẽ quá hạn",
	"must be in the year 2000 or later":                                           "phải từ năm 2000 trở về sau",
	"must be unit or officer":                                                     "phải là unit (đơn vị) hoặc officer (cán bộ)",
	"the token has expired":                                                       "mã đăng nhập đã hết hạn",
	"a session needs an id, a person and an expiry in the future":                 "phiên làm việc cần mã, người dùng và thời hạn trong tương lai",
	"only an administrator can end another person's sessions":                     "chỉ quản trị viên được kết thúc phiên làm việc của người khác",
	"sub names the person whose sessions end":                                     "sub là người dùng có các phiên làm việc cần kết thúc",
	"required, at most 255 characters":                                            "là bắt buộc, tối đa 255 ký tự",
	"the database cannot be reached at the moment; try again shortly":             "hiện không kết nối được cơ sở dữ liệu; vui lòng thử lại sau ít phút",
	"must be from 1 to 9007199254740991 (2^53-1) VND":                             "phải từ 1 đến 9007199254740991 (2^53-1) đồng",
	"must be online or counter":                                                   "phải là online (trực tuyến) hoặc counter (tại quầy)",
	"only for return_result and receive_payment":                                  "chỉ dùng cho return_result và receive_payment",
	// Text and time checks of domain/input.go (returned, not formatted).
	"is not valid UTF-8": "không phải văn bản UTF-8 hợp lệ",
	"must not contain control characters (only tab and newline)": "không được chứa ký tự điều khiển (chỉ cho phép tab và xuống dòng)",
	"must not contain bidirectional override characters":         "không được chứa ký tự đảo chiều văn bản",
	"must be from 1900-01-01 to 2199-12-31":                      "phải từ 01/01/1900 đến 31/12/2199",
}

// viPattern is a catalogue entry with verbs, matched as a regular expression.
type viPattern struct {
	re *regexp.Regexp
	vi string
}

var viPatterns = func() []viPattern {
	verb := regexp.MustCompile(`%[-+# 0-9.]*[sdqvf]`)
	var out []viPattern
	for en, vi := range viMessages {
		if !verb.MatchString(en) {
			continue
		}
		parts := verb.Split(en, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		out = append(out, viPattern{re: regexp.MustCompile("^" + strings.Join(parts, "(.+?)") + "$"), vi: vi})
	}
	// The most specific first: more fixed text wins over "%s".
	fixed := func(p viPattern) int { return len(p.re.String()) - 5*p.re.NumSubexp() }
	sort.Slice(out, func(i, j int) bool {
		if fi, fj := fixed(out[i]), fixed(out[j]); fi != fj {
			return fi > fj
		}
		return out[i].re.String() < out[j].re.String()
	})
	return out
}()

// vi returns the Vietnamese for a message written in English, or the
// message as it is when the catalogue lacks it (or it is Vietnamese already).
func vi(msg string) string {
	if msg == "" || !utf8.ValidString(msg) {
		return msg
	}
	if v, ok := viMessages[msg]; ok {
		return v
	}
	for _, p := range viPatterns {
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		for i, a := range m[1:] {
			if v, ok := viMessages[a]; ok {
				a = v
			}
			args[i] = a
		}
		return fmt.Sprintf(p.vi, args...)
	}
	return msg
}

// viProblem puts a problem document's detail and field messages in Vietnamese.
// A validation error's detail names its fields, as its messages do.
func viProblem(p *Problem) {
	for i := range p.Errors {
		p.Errors[i].Message = vi(p.Errors[i].Message)
	}
	if p.Code == domain.CodeValidationFailed && len(p.Errors) > 0 {
		parts := make([]string, len(p.Errors))
		for i, f := range p.Errors {
			parts[i] = f.Field + ": " + f.Message
		}
		p.Detail = "Dữ liệu không hợp lệ: " + strings.Join(parts, "; ")
		return
	}
	p.Detail = vi(p.Detail)
}
