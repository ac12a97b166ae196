package handlers

import "github.com/motcua/motcua/domain"

// statusNamesVN are the statuses' Vietnamese names, as the exports and the
// pages show them (docs/domain.md).
var statusNamesVN = map[domain.Status]string{
	domain.StatusNew:                 "Mới nộp, chờ tiếp nhận",
	domain.StatusReceived:            "Đã tiếp nhận",
	domain.StatusRefused:             "Từ chối tiếp nhận",
	domain.StatusProcessing:          "Đang giải quyết",
	domain.StatusSupplementRequested: "Chờ bổ sung hồ sơ",
	domain.StatusAwaitingPayment:     "Chờ thực hiện nghĩa vụ tài chính",
	domain.StatusWithdrawn:           "Đã rút hồ sơ",
	domain.StatusStopped:             "Dừng giải quyết",
	domain.StatusProcessed:           "Đã có kết quả, chờ trả",
	domain.StatusReturned:            "Đã trả kết quả",
}

// StatusNameVN is a status's Vietnamese name.
func StatusNameVN(s domain.Status) string { return statusNamesVN[s] }
