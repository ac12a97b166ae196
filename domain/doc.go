// Package domain holds the rules of the one-stop shop: dossiers and their
// statuses, procedures and agencies, the working-time calendar and deadlines,
// and the events a change produces. It imports only the standard library.
//
// Glossary: hồ sơ = Dossier, thủ tục hành chính = Procedure, cơ quan = Agency,
// tiếp nhận = Receive, thụ lý = Process, bổ sung = RequestSupplement,
// trả kết quả = ReturnResult, quá hạn = Overdue, phiếu kiểm soát = control slip
// (Handoff), xin lỗi và hẹn lại = Extension.
package domain
