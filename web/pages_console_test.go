package web_test

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/xuri/excelize/v2"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

var (
	qrRe          = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
	receiptCodeRe = regexp.MustCompile(`class="code">([0-9A-Z.]+-[0-9]{6}-[0-9]{4,})<`)
	pinRe         = regexp.MustCompile(`class="pin">([0-9]{8})<`)
)

// decodeQR reads the QR code of a PNG.
func decodeQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		// gozxing's finder-pattern search misses about one code in a
		// thousand that decodes as the clean, unrotated image it is.
		res, err = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		t.Fatalf("QR does not decode: %v", err)
	}
	return res.GetText()
}

// receiptOf reads a receipt page: the code, the PIN and the QR code's text.
func receiptOf(t *testing.T, p page) (code, pin, qr string) {
	t.Helper()
	m := receiptCodeRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no dossier code on the receipt:\n%s", p.Body)
	}
	code = m[1]
	if m := pinRe.FindStringSubmatch(p.Body); m != nil {
		pin = m[1]
	}
	if m := qrRe.FindStringSubmatch(p.Body); m != nil {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		qr = decodeQR(t, b)
	}
	return code, pin, qr
}

func intakeForm(token, key string) url.Values {
	return url.Values{"csrf": {token}, "key": {key}, "procedure": {"1.001612"}, "name": {"Trần Thị Bình"},
		"id_number": {"079190001234"}, "phone": {"0987654321"}, "address": {"12 Lý Thái Tổ, Hoàn Kiếm"},
		"documents": {"Giấy đề nghị đăng ký hộ kinh doanh\r\n\r\nBản sao CCCD\n"}, "channel": {"counter"}, "delivery": {"postal"}}
}

var keyRe = regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`)

func TestSignInAndSessions(t *testing.T) {
	s := newSite(t, storetest.SQLite(t), nil)
	s.catalogue()
	b := s.browser()

	// No session: to the sign-in page, and back after it.
	res := b.get("/can-bo?status=received")
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/dang-nhap?next=%2Fcan-bo%3Fstatus%3Dreceived" {
		t.Fatalf("no session: %d %s", res.Status, res.Header.Get("Location"))
	}
	form := b.get("/dang-nhap?next=%2Fcan-bo%3Fstatus%3Dreceived").must(t, 200, `<label for="token">`, "motcua token")
	token := b.csrf(form)
	b.post("/dang-nhap", url.Values{"token": {s.token(domain.RoleClerk, center)}}).must(t, 403)
	b.post("/dang-nhap", url.Values{"csrf": {token}, "token": {"not-a-token"}}).must(t, 401, "không hợp lệ")
	b.post("/dang-nhap", url.Values{"csrf": {token}, "token": {""}}).must(t, 422)
	res = b.post("/dang-nhap", url.Values{"csrf": {token}, "token": {s.token(domain.RoleClerk, center)}, "next": {"/can-bo?status=received"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/can-bo?status=received" {
		t.Fatalf("sign-in: %d %s", res.Status, res.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == "motcua_session" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
		t.Fatalf("session cookie %+v", sc)
	}
	b.get("/can-bo").must(t, 200, "Tiếp nhận", "Đăng xuất", "clerk@"+center)

	// An open redirect is refused: a foreign next goes home.
	res = b.post("/dang-nhap", url.Values{"csrf": {token}, "token": {s.token(domain.RoleClerk, center)}, "next": {"//evil.example/x"}})
	if loc := res.Header.Get("Location"); loc != "/can-bo" {
		t.Errorf("next //evil: %s", loc)
	}

	// A forged cookie is no session.
	u, _ := url.Parse(s.srv.URL)
	good := b.http.Jar.Cookies(u)
	for _, v := range []string{"x", strings.Repeat("A", 5000), sc.Value[:len(sc.Value)-2] + "AA"} {
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: "motcua_session", Value: v, Path: "/"}})
		if r := b.get("/can-bo"); r.Status != http.StatusSeeOther {
			t.Errorf("forged cookie %.20q: %d", v, r.Status)
		}
	}
	b.http.Jar.SetCookies(u, good)
	list := b.get("/can-bo").must(t, 200)

	// An expired session: pages send to the sign-in page; a form changes nothing.
	s.clock.Set(s.clock.Now().Add(10 * time.Hour))
	res = b.get("/can-bo/tiep-nhan")
	if res.Status != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "ly-do=het-han") {
		t.Fatalf("expired: %d %s", res.Status, res.Header.Get("Location"))
	}
	b.get("/dang-nhap?ly-do=het-han").must(t, 200, "đã hết hạn")
	b.http.Jar.SetCookies(u, good)
	before := s.rows()
	b.post("/can-bo/tiep-nhan", intakeForm(b.csrf(list), strings.Repeat("a", 32))).must(t, 401, "hết hạn", "chưa được thực hiện")
	if !equalRows(before, s.rows()) {
		t.Fatal("an expired session changed something")
	}

	// Signing out ends the session.
	s.clock.Set(s.clock.Now().Add(-10 * time.Hour))
	b.http.Jar.SetCookies(u, good)
	list = b.get("/can-bo").must(t, 200)
	b.post("/dang-xuat", url.Values{}).must(t, 403)
	if r := b.post("/dang-xuat", url.Values{"csrf": {b.csrf(list)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if r := b.get("/can-bo"); r.Status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", r.Status)
	}

	// Roles: an officer has no intake form, a clerk no dashboard.
	o := s.browser()
	o.signIn(domain.RoleOfficer, office)
	o.get("/can-bo/tiep-nhan").must(t, 403, "không có quyền")
	o.get("/giam-sat").must(t, 403)
	o.get("/can-bo").must(t, 200).lacks(t, "/can-bo/tiep-nhan\"")
}

func TestConsoleIntakeAndReceipt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		b := s.browser()
		b.signIn(domain.RoleClerk, center)
		form := b.get("/can-bo/tiep-nhan").must(t, 200, "1.001612 — Đăng ký thành lập hộ kinh doanh", `<label for="name">`, `<label for="documents">`)
		token, key := b.csrf(form), keyRe.FindStringSubmatch(form.Body)[1]
		before := s.rows()

		// Bad input: nothing is taken in, the form comes back with what was typed.
		b.post("/can-bo/tiep-nhan", func() url.Values { v := intakeForm(token, key); v.Del("csrf"); return v }()).must(t, 403)
		b.post("/can-bo/tiep-nhan", func() url.Values { v := intakeForm("x"+token, key); return v }()).must(t, 403)
		bad := intakeForm(token, key)
		bad.Set("name", `<script>alert(1)</script>`)
		bad.Set("id_number", "")
		bad.Set("email", "not-an-email")
		b.post("/can-bo/tiep-nhan", bad).must(t, 422, "chưa được tiếp nhận", `aria-invalid="true"`, "&lt;script&gt;alert(1)&lt;/script&gt;").lacks(t, "<script>alert")
		bad = intakeForm(token, key)
		bad.Set("procedure", "9.999999")
		b.post("/can-bo/tiep-nhan", bad).must(t, 422)
		bad.Set("documents", "  \n ")
		b.post("/can-bo/tiep-nhan", bad).must(t, 422, "ít nhất một giấy tờ")
		if !equalRows(before, s.rows()) {
			t.Fatalf("bad intake wrote rows: %v -> %v", before, s.rows())
		}

		// The receipt comes back at once with the PIN and its QR code.
		rec := b.post("/can-bo/tiep-nhan", intakeForm(token, key)).must(t, 200, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
			"Trần Thị Bình", "079190001234", "0987654321", "Giấy đề nghị đăng ký hộ kinh doanh", "Bản sao CCCD",
			"3 ngày làm việc", "09:00 16/03/2026", "09:00 19/03/2026", "Qua dịch vụ bưu chính công ích", "Đăng ký thành lập hộ kinh doanh")
		code, pin, qr := receiptOf(t, rec)
		want := s.srv.URL + "/tra-cuu?" + url.Values{"ma": {code}, "pin": {pin}}.Encode()
		if qr != want {
			t.Fatalf("QR %q, want %q", qr, want)
		}
		if rec.Header.Get("Cache-Control") != "no-store" || len(rec.Body) > 100_000 {
			t.Errorf("receipt: %v, %d bytes", rec.Header, len(rec.Body))
		}
		// The QR link opens the citizen's page.
		s.browser().get(strings.TrimPrefix(qr, s.srv.URL)).must(t, 200, code, "Đã tiếp nhận", "Thẩm định")

		// The same form sent again (back button, double click) is the same dossier and PIN.
		again := b.post("/can-bo/tiep-nhan", intakeForm(token, key)).must(t, 200)
		if c2, p2, _ := receiptOf(t, again); c2 != code || p2 != pin {
			t.Errorf("resent form: %s %s, want %s %s", c2, p2, code, pin)
		}
		if n := s.count("dossiers"); n != 1 {
			t.Errorf("%d dossiers", n)
		}
		// The same key with other data is refused.
		other := intakeForm(token, key)
		other.Set("name", "Người khác")
		b.post("/can-bo/tiep-nhan", other).must(t, 409)

		// Reprint without the PIN, from the console (session cookie on the API route).
		dossier := b.get("/can-bo/ho-so/"+code).must(t, 200, "In lại giấy tiếp nhận", "Cấp lại mã tra cứu", "Chuyển xử lý")
		plain := b.get("/api/v1/dossiers/"+code+"/receipt").must(t, 200, code, "không được in lại").lacks(t, pin, "data:image/png")
		if plain.Header.Get("Content-Type") != "text/html; charset=UTF-8" {
			t.Errorf("receipt content type %q", plain.Header.Get("Content-Type"))
		}

		// A new PIN for a lost receipt: the old one stops working, the history says so.
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(dossier.Body)[1]
		outbox := s.count("outbox")
		b.post("/can-bo/ho-so/"+code+"/cap-lai-ma", url.Values{"version": {version}}).must(t, 403)
		b.post("/can-bo/ho-so/"+code+"/cap-lai-ma", url.Values{"csrf": {b.csrf(dossier)}, "version": {"99"}}).must(t, 409, "vừa được người khác cập nhật")
		re := b.post("/can-bo/ho-so/"+code+"/cap-lai-ma", url.Values{"csrf": {b.csrf(dossier)}, "version": {version}}).must(t, 200, code)
		_, newPIN, newQR := receiptOf(t, re)
		if newPIN == "" || newPIN == pin || !strings.HasSuffix(newQR, "pin="+newPIN) {
			t.Fatalf("reissued PIN %q (old %q), QR %q", newPIN, pin, newQR)
		}
		citizen := s.browser()
		citizen.get("/tra-cuu?"+url.Values{"ma": {code}, "pin": {pin}}.Encode()).must(t, 404)
		citizen.get("/tra-cuu?"+url.Values{"ma": {code}, "pin": {newPIN}}.Encode()).must(t, 200)
		b.get("/can-bo/ho-so/"+code).must(t, 200, "Cấp lại mã tra cứu", "mã cũ hết hiệu lực").lacks(t, newPIN)
		if s.count("outbox") != outbox {
			t.Error("a PIN reissue wrote an event")
		}
		// The intake form sent once more now prints no PIN: the one kept with the intake is void.
		b.post("/can-bo/tiep-nhan", intakeForm(token, key)).must(t, 200, code, "không được in lại").lacks(t, pin, newPIN)
		if logs := s.logs.String(); strings.Contains(logs, pin) || strings.Contains(logs, newPIN) {
			t.Errorf("a PIN reached the log:\n%s", logs)
		}
	})
}

func TestConsoleActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		d := s.intake(intakeBody("1.001612", "counter"))
		clerk, officer := s.browser(), s.browser()
		clerk.signIn(domain.RoleClerk, center)
		officer.signIn(domain.RoleOfficer, office)

		clerk.get("/can-bo").must(t, 200, d.Code, "Nguyễn Văn An")
		clerk.get("/can-bo?status=returned").must(t, 200, "Không có hồ sơ").lacks(t, d.Code)
		clerk.get("/can-bo?received_from=2026-13-01").must(t, 422, "Bộ lọc chưa hợp lệ")
		clerk.get("/can-bo?status=<b>x</b>").must(t, 422).lacks(t, "<b>x</b>")

		clerk.get("/can-bo/ho-so/%3Cscript%3Ealert(1)%3C%2Fscript%3E").must(t, 404, "Không tìm thấy").lacks(t, "<script>alert")
		clerk.get("/can-bo/ho-so/"+strings.Repeat("9", 5000)).must(t, 404).lacks(t, strings.Repeat("9", 100))
		page := clerk.get("/can-bo/ho-so/"+d.Code).must(t, 200, "Chuyển xử lý", "Từ chối tiếp nhận", "Thẩm định")
		// The officer of step 1 may read the dossier but has nothing to do before the transfer.
		officer.get("/can-bo/ho-so/"+d.Code).must(t, 200, "Thẩm định").lacks(t, "<summary>")
		before := s.rows()
		// Refusing needs a reason; a stale version changes nothing.
		clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {clerk.csrf(page)}, "action": {"refuse"}, "version": {"1"}}).
			must(t, 422, "chưa được thực hiện", "Lý do")
		clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {clerk.csrf(page)}, "action": {"transfer"}, "version": {"7"}}).
			must(t, 409, "vừa được người khác cập nhật")
		clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {clerk.csrf(page)}, "action": {"delete_everything"}, "version": {"1"}}).
			must(t, 422)
		clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"action": {"transfer"}, "version": {"1"}}).must(t, 403)
		clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {officer.csrf(officer.get("/can-bo"))}, "action": {"transfer"}, "version": {"1"}}).must(t, 403)
		if !equalRows(before, s.rows()) {
			t.Fatal("a refused action changed rows")
		}

		res := clerk.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {clerk.csrf(page)}, "action": {"transfer"}, "version": {"1"}})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/can-bo/ho-so/"+d.Code+"?ok=transfer" {
			t.Fatalf("transfer: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
		}
		clerk.get(res.Header.Get("Location")).must(t, 200, "Đã thực hiện: Chuyển xử lý", "Đang giải quyết").lacks(t, ">Hoàn thành bước xử lý<")

		// The officer of step 1's unit completes it from the console.
		s.clock.Set(at(2026, 3, 17, 10, 0)) // the next morning: a new session
		officer.get("/can-bo").must(t, 303)
		officer.signIn(domain.RoleOfficer, office)
		op := officer.get("/can-bo/ho-so/"+d.Code).must(t, 200, "Hoàn thành bước xử lý", "Yêu cầu bổ sung hồ sơ").lacks(t, "Cấp lại mã tra cứu")
		res = officer.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {officer.csrf(op)}, "action": {"complete_step"}, "version": {"2"}, "note": {"Đủ điều kiện"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("complete_step: %d\n%s", res.Status, res.Body)
		}
		doc := s.get(d.Code)
		if doc.Steps[0].Verdict != "early" || doc.HolderCode != dept || doc.History[len(doc.History)-1].Action != "complete_step" {
			t.Fatalf("after the step: %+v", doc)
		}
		// Step 2 is the department's: the office officer has no button any more.
		officer.get("/can-bo/ho-so/"+d.Code).must(t, 200).lacks(t, "Hoàn thành bước xử lý</summary>")

		// The department's officer: extension (with its date) and the last step's result.
		dep := s.browser()
		dep.signIn(domain.RoleOfficer, dept)
		dp := dep.get("/can-bo/ho-so/"+d.Code).must(t, 200, `name="result"`, `type="datetime-local"`)
		dep.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {dep.csrf(dp)}, "action": {"extend"}, "version": {"3"}, "reason": {"Cần xác minh"}, "new_due_at": {"not a date"}}).
			must(t, 422)
		dep.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {dep.csrf(dp)}, "action": {"request_payment"}, "version": {"3"}, "amount": {"nhiều"}}).
			must(t, 422, "Số tiền")
		res = dep.post("/can-bo/ho-so/"+d.Code+"/thao-tac", url.Values{"csrf": {dep.csrf(dp)}, "action": {"extend"}, "version": {"3"},
			"reason": {"Cần xác minh thêm"}, "new_due_at": {"2026-03-25T16:00"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("extend: %d\n%s", res.Status, res.Body)
		}
		if doc := s.get(d.Code); doc.PromisedAt == nil || !doc.PromisedAt.Equal(at(2026, 3, 25, 16, 0)) {
			t.Fatalf("promised %v", doc.PromisedAt)
		}
		s.browser().get("/tra-cuu?"+url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()).must(t, 200, "Thư xin lỗi", "16:00 25/03/2026", "Cần xác minh thêm")
	})
}

func TestDashboardPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		a := s.intake(intakeBody("1.001612", "counter"))
		late := s.intake(intakeBody("2.000635", "counter"))
		s.walkToReturned(a.Code)
		s.clock.Set(at(2026, 3, 25, 9, 0)) // the 4-hour procedure is long overdue
		sup := s.browser()
		sup.signIn(domain.RoleSupervisor, root)
		res := sup.get("/giam-sat").must(t, 200, "Tình hình giải quyết", "<svg", "Tỷ lệ giải quyết đúng hạn", "Sở Kế hoạch và Đầu tư",
			"100,0%", "Hồ sơ, bước xử lý quá hạn", late.Code, "Tải báo cáo", "format=xlsx", "Kỳ thống kê")
		if len(res.Body) > 100_000 {
			t.Errorf("dashboard of %d bytes", len(res.Body))
		}
		// One page, one instant per answer, said plainly: March still runs,
		// so its figures are as of the end of today and the list as of now.
		res.must(t, 200, "tính đến 00:00 26/03/2026", "Tính đến 09:00 25/03/2026 (số liệu ở trên tính đến 00:00 26/03/2026)")
		// A closed period: the list answers for the figures' instant, the
		// end of the period, where the 4-hour dossier was not yet received.
		sup.get("/giam-sat?period=2026-02").must(t, 200, "Tính đến 00:00 01/03/2026, cùng thời điểm với số liệu ở trên",
			"Không có hồ sơ quá hạn").lacks(t, late.Code)
		// A chosen instant, and bad or future ones.
		sup.get("/giam-sat?as_of=2026-03-24T10:00").must(t, 200, "Tính đến 10:00 24/03/2026", late.Code)
		sup.get("/giam-sat?as_of=hôm-qua").must(t, 422, "thời điểm của danh sách quá hạn không hợp lệ")
		sup.get("/giam-sat?as_of=2026-03-26T10:00").must(t, 422, "thời điểm của danh sách quá hạn không hợp lệ")
		// The scorecard and the lateness tables of the same period.
		res.must(t, 200, "Quyết định 766/QĐ-TTg", "Đo được / tối đa", "2.1 Hồ sơ giải quyết đúng hạn", "chưa đo được",
			"Chậm muộn theo đơn vị, cán bộ", "Phòng Đăng ký kinh doanh", "/giam-sat/xuat/bo-chi-so?", "/giam-sat/xuat/cham-muon?")
		sup.get("/giam-sat/xuat/bo-chi-so?period=2026-03&format=csv").must(t, 200, "Chỉ số", "2.1")
		sup.get("/giam-sat/xuat/cham-muon?period=2026-03&group_by=officer&format=xlsx").must(t, 200)
		sup.get("/giam-sat/xuat/bo-chi-so?period=2026-03&format=json").must(t, 422)
		sup.get("/giam-sat?period=2026-Q1&group_by=procedure").must(t, 200, "Đăng ký thành lập hộ kinh doanh", "Theo thủ tục hành chính")
		sup.get("/giam-sat?period=stat:2026-03").must(t, 200, "15/02/2026")
		sup.get("/giam-sat?period=<script>").must(t, 422, "kỳ báo cáo không hợp lệ").lacks(t, "<script>")
		sup.get("/giam-sat?agency_code="+foreign).must(t, 403, "ngoài phạm vi")

		x := sup.get("/giam-sat/xuat/bao-cao?period=2026-03&format=xlsx").must(t, 200)
		if x.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
			!strings.Contains(x.Header.Get("Content-Disposition"), ".xlsx") {
			t.Fatalf("export headers %v", x.Header)
		}
		f, err := excelize.OpenReader(strings.NewReader(x.Body))
		if err != nil {
			t.Fatalf("xlsx: %v", err)
		}
		rows, _ := f.GetRows(f.GetSheetList()[0])
		if len(rows) < 2 || rows[0][0] != "Mã cơ quan" {
			t.Errorf("xlsx rows %v", rows)
		}
		sup.get("/giam-sat/xuat/qua-han?format=csv").must(t, 200, "Mã hồ sơ", "2.000635")
		sup.get("/giam-sat/xuat/qua-han?format=json").must(t, 422)

		// Another province's supervisor sees none of it.
		other := s.browser()
		other.signIn(domain.RoleSupervisor, foreign)
		other.get("/giam-sat").must(t, 200, "Không có hồ sơ quá hạn", "Chưa có số liệu").lacks(t, late.Code, a.Code, "Sở Kế hoạch")
		clerk := s.browser()
		clerk.signIn(domain.RoleClerk, center)
		clerk.get("/giam-sat").must(t, 403)
		clerk.get("/giam-sat/xuat/bao-cao?period=2026-03&format=xlsx").must(t, 403)
	})
}
