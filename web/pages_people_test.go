package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// namedToken is a token carrying the person's name and title.
func (e *env) namedToken(sub, name, title string, role domain.Role, agency string) string {
	e.t.Helper()
	tok, err := auth.Issue(e.secret, domain.Actor{Sub: sub, Name: name, Title: title, Roles: []domain.Role{role}, Agency: agency}, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// signInWith signs a browser in with a given token.
func (b *browser) signInWith(token string) {
	b.t.Helper()
	form := b.get("/dang-nhap")
	if res := b.post("/dang-nhap", url.Values{"csrf": {b.csrf(form)}, "token": {token}}); res.Status != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d\n%s", res.Status, res.Body)
	}
}

// What people read names people, pauses look paused, the edit counter stays
// hidden, and an apology shows only while it matters.
func TestPagesPeopleAndPauses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		clerkTok := s.namedToken("clerk-pham", "Phạm Thị Lan", "Chuyên viên một cửa", domain.RoleClerk, center)
		officeTok := s.namedToken("officer-le", "Lê Văn Hùng", "", domain.RoleOfficer, office)
		deptTok := s.namedToken("officer-vo", "Võ Minh Châu", "Chuyên viên", domain.RoleOfficer, dept)

		var d dossierDoc
		s.must(s.do(http.MethodPost, "/api/v1/dossiers", clerkTok, intakeBody("1.001612", "counter")), http.StatusCreated).json(t, &d)
		s.must(s.act(d.Code, clerkTok, at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), 200)
		s.must(s.act(d.Code, officeTok, at(2026, 3, 17, 10, 0), map[string]any{"action": "complete_step"}), 200)
		s.must(s.act(d.Code, deptTok, at(2026, 3, 17, 11, 0), map[string]any{"action": "request_supplement",
			"reason": "Thiếu giấy tờ", "items": []string{"Hợp đồng thuê địa điểm"}}), 200)

		clerk := s.browser()
		clerk.signInWith(clerkTok)
		// Paused: the step says so, with no running deadline.
		page := clerk.get("/can-bo/ho-so/"+d.Code).must(t, 200, "Tạm dừng tính thời gian", `<span class="badge warn">Tạm dừng</span>`, "dừng tính thời gian",
			"Phạm Thị Lan (Chuyên viên một cửa)", "Lê Văn Hùng", "Võ Minh Châu (Chuyên viên)")
		page.lacks(t, `<span class="badge info">Đang xử lý</span>`, "clerk-pham", "officer-le", "officer-vo", `muted small">phiên bản`)
		citizen := s.browser()
		lookup := "/tra-cuu?" + url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()
		citizen.get(lookup).must(t, 200, `<span class="badge warn">Tạm dừng</span>`).lacks(t, `<span class="badge info">Đang xử lý</span>`)

		// The receipt names the clerk who received the dossier.
		res := s.must(s.do(http.MethodGet, "/api/v1/dossiers/"+d.Code+"/receipt", clerkTok, nil), 200)
		if !bytes.Contains(res.Body, []byte(`class="sign-name">Phạm Thị Lan<`)) {
			t.Errorf("the receipt does not name the receiving clerk:\n%s", res.Body)
		}

		// Supplement in, the dossier extended, then finished early after all:
		// the citizen's page tells what happened, without an apology.
		s.must(s.act(d.Code, clerkTok, at(2026, 3, 18, 9, 0), map[string]any{"action": "receive_supplement"}), 200)
		s.must(s.act(d.Code, deptTok, at(2026, 3, 18, 10, 0), map[string]any{"action": "extend", "reason": "Cần xác minh",
			"new_due_at": at(2026, 3, 31, 16, 0)}), 200)
		citizen.get(lookup).must(t, 200, "Thư xin lỗi", "chưa được giải quyết đúng hẹn")
		s.must(s.act(d.Code, deptTok, at(2026, 3, 18, 11, 0), map[string]any{"action": "complete_step", "result": "approved"}), 200)
		if doc := s.get(d.Code); doc.Verdict != "early" {
			t.Fatalf("verdict %q, want early", doc.Verdict)
		}
		citizen.get(lookup).must(t, 200, "Trước hạn").lacks(t, "Thư xin lỗi", "xin lỗi", "16:00 31/03/2026")

		// Lists show the procedure's name beside its code; dates are dd/mm/yyyy.
		clerk.signInWith(clerkTok) // a new day, a new session
		clerk.get("/can-bo?received_from=16/03/2026&received_to=16/03/2026").must(t, 200, d.Code,
			"Đăng ký thành lập hộ kinh doanh <small class=\"muted\">(1.001612)</small>", `placeholder="dd/mm/yyyy"`, `value="16/03/2026"`)
		clerk.get("/can-bo?received_from=17/03/2026").must(t, 200).lacks(t, d.Code)
		clerk.get("/can-bo?received_from=2026-03-16").must(t, 200, d.Code)
		clerk.get("/can-bo?received_from=31/02/2026").must(t, 422, "ngày/tháng/năm")

		// The intake page names its button as it reads; one document a line.
		clerk.get("/can-bo/tiep-nhan").must(t, 200, "bấm <strong>Tiếp nhận và in giấy hẹn</strong>", "Tiếp nhận và in giấy hẹn</button>").
			lacks(t, "Tờ khai (bản chính);")

		// Every page's icon.
		icon := s.browser().get("/favicon.ico")
		if icon.Status != 200 || icon.Header.Get("Content-Type") != "image/x-icon" || len(icon.Body) < 60 || icon.Body[:4] != "\x00\x00\x01\x00" {
			t.Errorf("favicon: %d %q", icon.Status, icon.Header.Get("Content-Type"))
		}
	})
}
