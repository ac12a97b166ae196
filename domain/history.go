package domain

// HistoryAction names what a line of a dossier's history records: a
// transition's Action, or one of the lines below that are no transition.
// The roll-ups, the pages and the national portal's progress entries all
// read it.
type HistoryAction string

// The history lines that are not transitions.
const (
	HistorySubmit          HistoryAction = "submit"           // handed in online, not yet accepted
	HistoryReceive         HistoryAction = "receive"          // taken in at the counter or by post
	HistoryCalendarChanged HistoryAction = "calendar_changed" // a recorded day moved the deadlines
	HistoryRate            HistoryAction = "rate"             // the citizen rated the service
	HistoryReissuePIN      HistoryAction = "reissue_pin"      // a clerk issued a new look-up PIN
	HistorySetNotify       HistoryAction = "set_notify"       // the applicant's consent to be told changed
)

// History is the history action of a transition.
func (a Action) History() HistoryAction { return HistoryAction(a) }

// historyVN says in Vietnamese what each line did: one wording for the
// pages and for the national portal's progress entries (NoiDungXuLy).
var historyVN = map[HistoryAction]string{
	ActionAccept.History():            "Tiếp nhận hồ sơ",
	ActionRefuse.History():            "Từ chối tiếp nhận",
	ActionTransfer.History():          "Chuyển xử lý",
	ActionCompleteStep.History():      "Hoàn thành bước xử lý",
	ActionRequestSupplement.History(): "Yêu cầu bổ sung hồ sơ",
	ActionReceiveSupplement.History(): "Nhận hồ sơ bổ sung",
	ActionRequestPayment.History():    "Yêu cầu thực hiện nghĩa vụ tài chính",
	ActionReceivePayment.History():    "Xác nhận đã thực hiện nghĩa vụ tài chính",
	ActionExtend.History():            "Xin lỗi và hẹn lại ngày trả",
	ActionWithdraw.History():          "Rút hồ sơ theo đề nghị",
	ActionStop.History():              "Dừng giải quyết",
	ActionReturnResult.History():      "Trả kết quả",
	HistorySubmit:                     "Nộp trực tuyến",
	HistoryReceive:                    "Tiếp nhận hồ sơ",
	HistoryRate:                       "Công dân đánh giá",
	HistoryCalendarChanged:            "Lịch làm việc thay đổi",
	HistoryReissuePIN:                 "Cấp lại mã tra cứu",
	HistorySetNotify:                  "Đổi cách nhận thông báo",
}

// Vietnamese is the action in Vietnamese, "" for an unknown one.
func (a HistoryAction) Vietnamese() string { return historyVN[a] }
