package web_test

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

var versionRe = regexp.MustCompile(`action="/can-bo/ho-so/[^"]+/thong-bao"[\s\S]*?name="version" value="(\d+)"`)

// TestConsoleNotifyConsent: the intake form's check boxes reach the
// dossier and the receipt; a bad contact for a checked channel sends the
// form back; the dossier page shows the notifications and lets the clerk
// change the consent, with a history line.
func TestConsoleNotifyConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		b := s.browser()
		b.signIn(domain.RoleClerk, center)
		form := b.get("/can-bo/tiep-nhan").must(t, 200, `name="notify" value="sms"`, `name="notify" value="email"`, "Nhận thông báo về hồ sơ qua")
		token, key := b.csrf(form), keyRe.FindStringSubmatch(form.Body)[1]

		bad := intakeForm(token, key)
		bad["notify"] = []string{"sms", "email"}
		bad.Set("phone", "0241234567")
		b.post("/can-bo/tiep-nhan", bad).must(t, 422, `id="phone-loi"`, `id="email-loi"`, `value="sms" checked`, `value="email" checked`)

		ok := intakeForm(token, key)
		ok["notify"] = []string{"sms", "email"}
		ok.Set("email", "binh@example.vn")
		rec := b.post("/can-bo/tiep-nhan", ok).must(t, 200, "Nhận thông báo qua: SMS, thư điện tử")
		code, _, _ := receiptOf(t, rec)
		page := b.get("/can-bo/ho-so/"+code).must(t, 200, "Thông báo cho người nộp", "Nhận thông báo qua: <strong>SMS, thư điện tử</strong>",
			"Chưa có thông báo nào", `value="sms" checked`)
		version := versionRe.FindStringSubmatch(page.Body)[1]

		// A plain receipt (no consent) prints no such line.
		plain := intakeForm(token, keyRe.FindStringSubmatch(b.get("/can-bo/tiep-nhan").Body)[1])
		b.post("/can-bo/tiep-nhan", plain).must(t, 200).lacks(t, "Nhận thông báo qua")

		res := b.post("/can-bo/ho-so/"+code+"/thong-bao", url.Values{"csrf": {b.csrf(page)}, "version": {version}, "notify": {"email"}})
		if res.Status != 303 {
			t.Fatalf("change: %d %s", res.Status, res.Body)
		}
		b.get("/can-bo/ho-so/"+code+"?ok=set_notify").must(t, 200, "Đã thực hiện: Đổi cách nhận thông báo.",
			"Nhận thông báo qua: <strong>thư điện tử</strong>", "notify: email")
		// A stale version is refused.
		b.post("/can-bo/ho-so/"+code+"/thong-bao", url.Values{"csrf": {b.csrf(page)}, "version": {version}, "notify": {}}).must(t, 409)

		// An officer sees the section but cannot change it.
		o := s.browser()
		o.signIn(domain.RoleOfficer, dept)
		o.get("/can-bo/ho-so/"+code).must(t, 200, "Thông báo cho người nộp").lacks(t, "/thong-bao\"")
	})
}
