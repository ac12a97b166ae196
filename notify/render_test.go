package notify_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/notify"
	"github.com/motcua/motcua/seed"
)

func TestFold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Đăng ký thành lập hộ kinh doanh", "Dang ky thanh lap ho kinh doanh"},
		{"Ủy ban nhân dân xã Đắk Lắk", "Uy ban nhan dan xa Dak Lak"},
		{"“Giấy tờ” – bản sao…", `"Giay to" - ban sao...`},
		{"dòng một\ndòng  hai\t€", "dong mot dong hai"},
		{"Nguyễn Thị Ánh Tuyết, Phường Đông Hưng Thuận", "Nguyen Thi Anh Tuyet, Phuong Dong Hung Thuan"},
	} {
		got := notify.Fold(tc.in)
		if got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !domain.ValidSMS(got) {
			t.Errorf("Fold(%q) is not GSM-7", tc.in)
		}
	}
}

// longNames are among the longest procedure names of the national database
// of administrative procedures, longer than any in the seed catalogue.
var longNames = []string{
	"Cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất lần đầu đối với tổ chức đang sử dụng đất, cơ sở tôn giáo, người Việt Nam định cư ở nước ngoài, doanh nghiệp có vốn đầu tư nước ngoài thực hiện dự án đầu tư, tổ chức nước ngoài có chức năng ngoại giao",
	"Thủ tục đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất trong các trường hợp chuyển đổi, chuyển nhượng, cho thuê, cho thuê lại, thừa kế, tặng cho, góp vốn bằng quyền sử dụng đất",
}

// TestEverySMSFits renders every SMS template with the longest procedure
// name, unit name and dossier code of the catalogue (and longer real
// names), the longest reason and list of items the rules allow: each is one
// GSM-7 message that keeps the code and the dates.
func TestEverySMSFits(t *testing.T) {
	t.Parallel()
	ts, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	agencies, procs := seed.Catalogue()
	if len(procs) < 1000 {
		t.Fatalf("catalogue of %d procedures", len(procs))
	}
	longest := func(xs []string) string {
		best := ""
		for _, x := range xs {
			if utf8.RuneCountInString(x) > utf8.RuneCountInString(best) {
				best = x
			}
		}
		return best
	}
	var pnames, anames, acodes []string
	for _, p := range procs {
		pnames = append(pnames, p.Name)
	}
	for _, a := range agencies {
		anames, acodes = append(anames, a.Name), append(acodes, a.Code)
	}
	received := time.Date(2026, 12, 31, 16, 59, 0, 0, domain.Vietnam())
	code := domain.DossierCode(longest(acodes), received, 99999)
	due := time.Date(2027, 12, 31, 9, 0, 0, 0, domain.Vietnam())
	newDue := due.AddDate(0, 0, 30)
	var items []string
	for range 50 {
		items = append(items, strings.Repeat("Bản sao có chứng thực giấy tờ ", 16)[:490])
	}
	reason := strings.Repeat("Hồ sơ thiếu chữ ký của người đề nghị; ", 30)[:1000]
	for _, name := range append([]string{longest(pnames)}, longNames...) {
		for _, delivery := range []domain.Delivery{domain.DeliveryCounter, domain.DeliveryPostal, domain.DeliveryOnline} {
			d := &domain.Dossier{Code: code, ProcedureCode: "1.000001.C24T34", Delivery: delivery, Status: domain.StatusProcessing,
				Applicant:   domain.Applicant{Name: "Nguyễn Thị Ánh Tuyết", IDNumber: "001190123456", Phone: "0912345678", Address: "Số 1 Tràng Tiền"},
				OriginalDue: &due, Clock: domain.TimeBudget{DueAt: &due},
				Extension: &domain.Extension{Reason: reason, NewDueAt: newDue},
				Pauses:    []domain.Pause{{Kind: domain.PauseSupplement, Reason: reason, Items: items, StartedAt: received}},
				History: []domain.HistoryEntry{{Action: "refuse", Note: reason + " — ghi chú nội bộ"},
					{Action: "stop", Note: reason}}}
			for _, ev := range domain.NotifyEvents {
				f := notify.FactsOf(d, ev, received.Add(time.Hour), name, longest(anames), "https://dichvucong.hanoi.gov.vn")
				m, err := ts.Render(ev, domain.NotifySMS, f)
				if err != nil {
					t.Fatalf("%s (%s, %s): %v", ev, name, delivery, err)
				}
				if !domain.ValidSMS(m.Text) || !strings.HasPrefix(m.Text, code+":") {
					t.Errorf("%s: %q (%d characters)", ev, m.Text, len(m.Text))
				}
				for _, want := range map[domain.EventType][]string{domain.EventReceived: {"31/12/2027"},
					domain.EventExtended: {"31/12/2027", "30/01/2028"}}[ev] {
					if !strings.Contains(m.Text, want) {
						t.Errorf("%s: %q lacks the date %s", ev, m.Text, want)
					}
				}
				for _, never := range []string{"001190123456", "Trang Tien", "0912345678", "ghi chu noi bo"} {
					if strings.Contains(m.Text, never) {
						t.Errorf("%s: %q holds %q", ev, m.Text, never)
					}
				}
				e, err := ts.Render(ev, domain.NotifyEmail, f)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(e.Subject, code) || strings.Contains(e.Text, "001190123456") || strings.Contains(e.Text, "Tràng Tiền") {
					t.Errorf("%s e-mail: %q\n%s", ev, e.Subject, e.Text)
				}
			}
		}
	}
}

// TestMessagesSayWhatHappened: each message names the facts of its event,
// e-mail with diacritics.
func TestMessagesSayWhatHappened(t *testing.T) {
	t.Parallel()
	ts, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 3, 19, 9, 0, 0, 0, domain.Vietnam())
	newDue := time.Date(2026, 3, 25, 16, 0, 0, 0, domain.Vietnam())
	d := &domain.Dossier{Code: "000.00.10.H29-260316-0001", Delivery: domain.DeliveryCounter, Applicant: domain.Applicant{Name: "Nguyễn Văn An"},
		OriginalDue: &due, Clock: domain.TimeBudget{DueAt: &due}, Extension: &domain.Extension{Reason: "Cần xác minh thêm", NewDueAt: newDue},
		Pauses: []domain.Pause{{Kind: domain.PauseSupplement, Reason: "Thiếu giấy tờ", Items: []string{"Bản sao CCCD", "Giấy đề nghị"}, StartedAt: due.Add(-time.Hour)}}}
	for _, tc := range []struct {
		ev          domain.EventType
		sms, email  []string
		subjectWant string
	}{
		{domain.EventReceived, []string{"Dang ky thanh lap ho kinh doanh", "19/03/2026"}, []string{"Đăng ký thành lập hộ kinh doanh", "09:00 ngày 19/03/2026"}, "tiếp nhận"},
		{domain.EventSupplementRequested, []string{"Ban sao CCCD; Giay de nghi", "Thieu giay to"}, []string{"- Bản sao CCCD\n- Giấy đề nghị", "Lý do: Thiếu giấy tờ"}, "bổ sung"},
		{domain.EventExtended, []string{"19/03/2026", "25/03/2026", "Can xac minh them"}, []string{"16:00 ngày 25/03/2026", "Cần xác minh thêm"}, "xin lỗi"},
		{domain.EventProcessed, []string{"Moi nhan tai Trung tam Phuc vu hanh chinh cong"}, []string{"Trung tâm Phục vụ hành chính công"}, "kết quả"},
		{domain.EventReturned, []string{"https://motcua.example.vn/tra-cuu?ma=000.00.10.H29-260316-0001"}, []string{"đánh giá"}, "đánh giá"},
	} {
		f := notify.FactsOf(d, tc.ev, due, "Đăng ký thành lập hộ kinh doanh", "Trung tâm Phục vụ hành chính công", "https://motcua.example.vn")
		s, err := ts.Render(tc.ev, domain.NotifySMS, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.sms {
			if !strings.Contains(s.Text, w) {
				t.Errorf("%s SMS %q lacks %q", tc.ev, s.Text, w)
			}
		}
		e, err := ts.Render(tc.ev, domain.NotifyEmail, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.email {
			if !strings.Contains(e.Text, w) {
				t.Errorf("%s e-mail lacks %q:\n%s", tc.ev, w, e.Text)
			}
		}
		if !strings.HasPrefix(e.Subject, d.Code+" - ") || !strings.Contains(e.Subject, tc.subjectWant) {
			t.Errorf("%s subject %q", tc.ev, e.Subject)
		}
	}
}
