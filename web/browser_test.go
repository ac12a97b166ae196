package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store/storetest"
)

// Browser tests: the pages in Debian's headless Chromium, driven from Go
// with chromedp (the Chrome DevTools Protocol, no Node.js, no browser
// download): the server is the test's own router on a real store with the
// test clock, and the receipt's QR code is decoded in Go.
//
// Without Chromium they are skipped with the reason; with CI=true a missing
// Chromium fails the run. MOTCUA_SCREENS=1 writes the screenshots of each
// page at 360 px and 1280 px to docs/screens (README, Pages).

// chromiumPath finds the browser: $CHROMIUM, or Debian's package.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"}
	if c := os.Getenv("CHROMIUM"); c != "" {
		candidates = []string{c} // only this one (CHROMIUM=none skips the tests)
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but Chromium is not installed (apt-get install chromium): the browser tests must run in CI")
	}
	t.Skipf("browser tests skipped: headless Chromium not found at %s (apt-get install chromium, or set CHROMIUM to its path)", strings.Join(candidates, " or "))
	return ""
}

// newChromium starts one headless Chromium for the test, with the flags a
// closed network needs (no background requests, no component updates).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "vi-VN"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return root
}

// tab is one person at their own browser: a new browser context (cookies
// of its own) and a tab in it.
type tab struct {
	t   *testing.T
	ctx context.Context
	s   *site
}

func (s *site) tab(chrome context.Context) *tab {
	ctx, cancel := chromedp.NewContext(chrome, chromedp.WithNewBrowserContext())
	s.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		s.t.Fatal(err)
	}
	return &tab{t: s.t, ctx: ctx, s: s}
}

// do runs steps in the tab; the budget is generous because a shared CI
// machine under load can take tens of seconds for a page's many steps.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

func (b *tab) open(path string) { b.t.Helper(); b.do(chromedp.Navigate(b.s.srv.URL + path)) }

func (b *tab) text(sel string) string { b.t.Helper(); return run(b, chromedp.Text(chromedp.CSS(sel))) }

func (b *tab) eval(js string) string { b.t.Helper(); return run(b, chromedp.Evaluate[string](js)) }

// submit clicks a form's button and waits for the page it leads to.
func (b *tab) submit(button, waitFor string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// waitLoaded waits until the page that cond holds on has loaded, for a
// navigation whose new page the selectors cannot tell from the old one.
// Evaluations fail while the page is being replaced: they are retried.
func (b *tab) waitLoaded(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("("+cond+") && document.readyState === 'complete'"))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("browser: the page never met %s", cond)
}

func (b *tab) signIn(role domain.Role, agency string) {
	b.t.Helper()
	b.open("/dang-nhap")
	b.do(chromedp.SetValue(chromedp.ID("token"), b.s.token(role, agency)))
	b.submit(`form[action="/dang-nhap"] button[type=submit]`, "form.who")
}

// audit checks a page as it stands: at 360 px wide nothing scrolls
// sideways, every field has a label, text contrast is at least WCAG AA,
// and the first load (document, stylesheet, script) is under 100 KB.
const auditJS = `(() => {
  const out = {overflow: document.documentElement.scrollWidth - window.innerWidth, unlabelled: [], lowContrast: [], bytes: 0};
  for (const e of document.querySelectorAll('input:not([type=hidden]),select,textarea')) {
    if (!(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')) out.unlabelled.push(e.name || e.id);
  }
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(parseFloat);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor); if (c && c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const seen = new Set();
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const n = w.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || !el || seen.has(el) || el.closest('svg,[hidden],.skip,option')) continue;
    seen.add(el);
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    if (cs.visibility === 'hidden' || r.width === 0 || r.height === 0) continue;
    const a = lum(parse(cs.color)), b = lum(bg(el)), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(cs.fontSize), large = size >= 24 || (parseInt(cs.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) out.lowContrast.push(el.tagName + ' "' + n.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  const nav = performance.getEntriesByType('navigation')[0];
  out.bytes = (nav ? nav.encodedBodySize : 0) + performance.getEntriesByType('resource').reduce((s, e) => s + e.encodedBodySize, 0);
  return JSON.stringify(out);
})()`

type auditResult struct {
	Overflow    int      `json:"overflow"`
	Unlabelled  []string `json:"unlabelled"`
	LowContrast []string `json:"lowContrast"`
	Bytes       int      `json:"bytes"`
}

// shoot audits the page at 360 px and takes its screenshots at 360 and
// 1280 px (written to docs/screens with MOTCUA_SCREENS=1).
func (b *tab) shoot(name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(360, 760, chromedp.EmulateScale(1)))
	var a auditResult
	raw := b.eval(auditJS)
	if err := jsonUnmarshal(raw, &a); err != nil {
		b.t.Fatal(err)
	}
	if a.Overflow > 0 {
		b.t.Errorf("%s: %d px too wide for a 360 px screen", name, a.Overflow)
	}
	if len(a.Unlabelled) > 0 {
		b.t.Errorf("%s: fields without a label: %v", name, a.Unlabelled)
	}
	if len(a.LowContrast) > 0 {
		b.t.Errorf("%s: text below WCAG AA contrast: %v", name, a.LowContrast)
	}
	if a.Bytes <= 0 || a.Bytes > 100_000 {
		b.t.Errorf("%s: first load of %d bytes, want under 100 KB", name, a.Bytes)
	}
	for _, w := range []int64{360, 1280} {
		h := int64(760)
		if w > 360 {
			h = 900
		}
		b.do(chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1)))
		if w == 1280 {
			var clipped []string
			if err := jsonUnmarshal(b.eval(clippedJS), &clipped); err != nil {
				b.t.Fatal(err)
			}
			if len(clipped) > 0 {
				b.t.Errorf("%s: choices cut off at %d px: %q", name, w, clipped)
			}
		}
		png := run(b, chromedp.FullScreenshot(100))
		if len(png) < 1000 {
			b.t.Fatalf("%s: empty screenshot", name)
		}
		if os.Getenv("MOTCUA_SCREENS") == "1" {
			dir := filepath.Join("..", "docs", "screens")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+"-"+itoa64(w)+".png"), png, 0o644); err != nil {
				b.t.Fatal(err)
			}
		}
	}
}

// clippedJS lists the visible drop-downs whose chosen option does not fit
// their width (text, padding and the arrow): what a person sees cut off.
const clippedJS = `(() => {
  const out = [], c = document.createElement('canvas').getContext('2d');
  for (const s of document.querySelectorAll('select')) {
    if (!s.offsetParent || s.clientWidth === 0) continue;
    const cs = getComputedStyle(s);
    c.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16;
    const o = s.options[s.selectedIndex];
    if (o && c.measureText(o.text).width > room) out.push((s.id || s.name) + ': ' + o.text);
  }
  return JSON.stringify(out);
})()`

var pdfPageRe = regexp.MustCompile(`/Type\s*/Page[^s]`)

func ptrb(b bool) *bool { return &b }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// seedForBrowser loads a small month of work: dossiers processed early, on
// time and late, one returned (so it can be rated), others overdue.
func seedForBrowser(s *site) (returned dossierDoc) {
	s.catalogue()
	clerk := s.token(domain.RoleClerk, center)
	office, dept := s.token(domain.RoleOfficer, office), s.token(domain.RoleOfficer, dept)
	s.clock.Set(at(2026, 3, 2, 8, 30))
	var ds []dossierDoc
	for i := 0; i < 4; i++ {
		ds = append(ds, s.intake(intakeBody("1.001612", "counter")))
	}
	for i := 0; i < 2; i++ {
		s.intake(intakeBody("2.000635", "counter"))
	}
	finish := []time.Time{at(2026, 3, 3, 14, 0), at(2026, 3, 4, 16, 0), at(2026, 3, 10, 10, 0)}
	for i, d := range ds[:3] {
		s.must(s.act(d.Code, clerk, at(2026, 3, 2, 9, 0), map[string]any{"action": "transfer"}), 200)
		s.must(s.act(d.Code, office, finish[i].Add(-3*time.Hour), map[string]any{"action": "complete_step"}), 200)
		s.must(s.act(d.Code, dept, finish[i], map[string]any{"action": "complete_step", "result": "approved"}), 200)
	}
	s.must(s.act(ds[0].Code, clerk, at(2026, 3, 4, 9, 0), map[string]any{"action": "return_result", "method": "counter"}), 200)
	s.must(s.act(ds[3].Code, clerk, at(2026, 3, 2, 9, 0), map[string]any{"action": "transfer"}), 200)

	// A second lead agency, for the charts: certified copies, one working day.
	s.clock.Set(at(2026, 3, 2, 8, 0))
	s.must(s.do(http.MethodPut, "/api/v1/procedures/2.000815", s.token(domain.RoleAdmin, root), map[string]any{
		"name": "Chứng thực bản sao từ bản chính", "agency_code": root, "duration": map[string]any{"working_days": 1},
		"supplement_clock": "pause", "online": "partial",
		"steps": []map[string]any{{"name": "Chứng thực", "agency_code": root, "working_hours": 8}},
	}), http.StatusCreated)
	s.clock.Set(at(2026, 3, 2, 8, 30))
	rootOfficer := s.token(domain.RoleOfficer, root)
	for _, done := range []time.Time{at(2026, 3, 2, 15, 0), at(2026, 3, 3, 8, 0), at(2026, 3, 3, 11, 0), at(2026, 3, 6, 9, 0)} {
		s.clock.Set(at(2026, 3, 2, 8, 30))
		c := s.intake(intakeBody("2.000815", "counter")).Code
		s.must(s.act(c, clerk, at(2026, 3, 2, 8, 45), map[string]any{"action": "transfer"}), 200)
		s.must(s.act(c, rootOfficer, done, map[string]any{"action": "complete_step", "result": "approved"}), 200)
	}
	s.clock.Set(at(2026, 3, 16, 9, 0))
	return ds[0]
}

func TestBrowser(t *testing.T) {
	chrome := newChromium(t)
	s := newSite(t, storetest.SQLite(t), nil)
	returned := seedForBrowser(s)

	var code, pin, link string
	t.Run("clerk takes a dossier in and prints the receipt", func(t *testing.T) {
		clerk := s.tab(chrome)
		clerk.t = t
		clerk.signIn(domain.RoleClerk, center)
		if got := clerk.text("h1"); got != "Hồ sơ" {
			t.Fatalf("after sign-in: %q", got)
		}
		clerk.shoot("can-bo-danh-sach")
		// Dates are typed and shown as dd/mm/yyyy, whatever the browser's locale.
		if ph := clerk.eval(`document.getElementById('received_from').type + ' ' + document.getElementById('received_from').placeholder`); ph != "text dd/mm/yyyy" {
			t.Errorf("date filter %q, want a text field for dd/mm/yyyy", ph)
		}
		clerk.do(chromedp.SetValue(chromedp.ID("received_from"), "02/03/2026"), chromedp.SetValue(chromedp.ID("received_to"), "02/03/2026"))
		// The list is on the page before and after the filter: wait for the
		// filtered page itself, or the next navigation aborts this one.
		clerk.do(chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)))
		clerk.waitLoaded(`location.search.includes('received_from=')`)
		if v := clerk.eval(`document.getElementById('received_from').value`); v != "02/03/2026" {
			t.Errorf("the filter shows %q after filtering", v)
		}
		clerk.open("/can-bo/tiep-nhan")
		clerk.shoot("can-bo-tiep-nhan")
		clerk.do(
			chromedp.SetValue(chromedp.ID("procedure"), "1.001612"),
			chromedp.SetValue(chromedp.ID("name"), "Trần Thị Bình"),
			chromedp.SetValue(chromedp.ID("id_number"), "079190001234"),
			chromedp.SetValue(chromedp.ID("phone"), "0987654321"),
			chromedp.SetValue(chromedp.ID("email"), "tran.thi.binh@example.vn"),
			chromedp.Click(chromedp.CSS(`input[name=notify][value=sms]`)),
			chromedp.Click(chromedp.CSS(`input[name=notify][value=email]`)),
			chromedp.SetValue(chromedp.ID("address"), "12 Lý Thái Tổ, Hoàn Kiếm, Hà Nội"),
			chromedp.SetValue(chromedp.ID("documents"), "Giấy đề nghị đăng ký hộ kinh doanh\nBản sao CCCD của chủ hộ\nHợp đồng thuê địa điểm"),
			chromedp.SetValue(chromedp.ID("delivery"), "postal"),
		)
		clerk.submit(`form[action="/can-bo/tiep-nhan"] button[type=submit]`, ".sheet")
		if h := clerk.text(".sheet h1"); h != "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" {
			t.Fatalf("receipt title %q", h)
		}
		code, pin = clerk.text(".sheet strong.code"), clerk.text(".pin")
		if got := clerk.text(".sheet .notify"); got != "— Nhận thông báo qua: SMS, thư điện tử" {
			t.Errorf("receipt consent line %q", got)
		}
		src := run(clerk, chromedp.AttributeValue(chromedp.CSS("img.qr"), "src"))
		data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src.Value, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		link = decodeQR(t, data)
		if want := s.srv.URL + "/tra-cuu?ma=" + code + "&pin=" + pin; link != want {
			t.Fatalf("the QR code reads %q, want %q", link, want)
		}
		// Printing: one A4 page.
		pdf := run(clerk, chromedp.PrintToPDF(func(p *cdppage.PrintToPDFParams) { p.PreferCSSPageSize = ptrb(true) }))
		if n := len(pdfPageRe.FindAll(pdf, -1)); !bytes.HasPrefix(pdf, []byte("%PDF")) || n != 1 {
			t.Errorf("the receipt prints on %d pages, want one A4 page", n)
		}
		clerk.shoot("giay-tiep-nhan")

		// Back to the dossier; transfer it to the first step's unit.
		clerk.submit(`.toolbar a`, "#thong-tin")
		clerk.shoot("can-bo-ho-so")
		clerk.do(chromedp.Click(chromedp.JSPath(`document.querySelector('input[name=action][value=transfer]').closest('details').querySelector('summary')`)))
		clerk.submit(`details[open] button[type=submit]`, ".flash")
		if f := clerk.text(".flash"); f != "Đã thực hiện: Chuyển xử lý." {
			t.Fatalf("flash %q", f)
		}
	})

	t.Run("officer completes a step from the console", func(t *testing.T) {
		if code == "" {
			t.Skip("no dossier")
		}
		officer := s.tab(chrome)
		officer.t = t
		officer.signIn(domain.RoleOfficer, office)
		officer.open("/can-bo/ho-so/" + code)
		officer.do(chromedp.Click(chromedp.JSPath(`document.querySelector('input[name=action][value=complete_step]').closest('details').querySelector('summary')`)),
			chromedp.SendKeys(chromedp.CSS(`details[open] input[name=note]`), "Hồ sơ đủ điều kiện"))
		officer.submit(`details[open] button[type=submit]`, ".flash")
		if f := officer.text(".flash"); f != "Đã thực hiện: Hoàn thành bước xử lý." {
			t.Fatalf("flash %q", f)
		}
		d := s.get(code)
		if d.Steps[0].FinishedAt == nil || d.HolderCode != dept || d.History[len(d.History)-1].Action != "complete_step" {
			t.Fatalf("the step is not completed: %+v", d)
		}
	})

	t.Run("citizen opens the QR link and sees the status and steps", func(t *testing.T) {
		if link == "" {
			t.Skip("no receipt")
		}
		citizen := s.tab(chrome)
		citizen.t = t
		citizen.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".timeline")))
		if st := citizen.text(".status"); st != "Đang giải quyết" {
			t.Errorf("status %q", st)
		}
		steps := citizen.text(".timeline")
		for _, want := range []string{"Bước 1: Thẩm định", "Phòng Đăng ký kinh doanh", "Trước hạn", "Bước 2: Phê duyệt", "Đang xử lý"} {
			if !strings.Contains(steps, want) {
				t.Errorf("steps lack %q:\n%s", want, steps)
			}
		}
		if body := citizen.text("body"); strings.Contains(body, "Trần Thị Bình") || strings.Contains(body, "079190001234") {
			t.Error("the citizen's page shows personal data")
		}
		citizen.shoot("tra-cuu-ket-qua")

		// A returned dossier: the rating form, by keyboard and mouse.
		citizen.open("/tra-cuu?ma=" + returned.Code + "&pin=" + returned.LookupPIN)
		citizen.shoot("tra-cuu-danh-gia")
		citizen.do(chromedp.Click(chromedp.CSS(`input[name=diem][value="5"]`)), chromedp.SendKeys(chromedp.ID("y-kien"), "Cán bộ hướng dẫn tận tình"))
		citizen.submit(`form[action="/tra-cuu/danh-gia"] button[type=submit]`, ".flash")
		if f := citizen.text(".flash"); !strings.HasPrefix(f, "Cảm ơn") {
			t.Errorf("after rating: %q", f)
		}
	})

	t.Run("a wrong PIN and an unknown code look the same", func(t *testing.T) {
		if code == "" {
			t.Skip("no dossier")
		}
		citizen := s.tab(chrome)
		citizen.t = t
		look := func(c, p string) string {
			citizen.open("/")
			// Keyboard only: type the code, Tab to the PIN, Enter sends.
			citizen.do(chromedp.Click(chromedp.ID("ma")), chromedp.SendKeys(chromedp.ID("ma"), c), chromedp.KeyEvent("\t"))
			if id := citizen.eval(`document.activeElement.id`); id != "pin" {
				t.Fatalf("Tab from the code went to %q", id)
			}
			citizen.do(chromedp.KeyEvent(p), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".alert")))
			return citizen.text("main")
		}
		wrongPIN := look(code, "00000000")
		unknown := look(strings.Replace(code, code[len(code)-4:], "9999", 1), pin)
		if wrongPIN != unknown {
			t.Errorf("told apart:\n%s\n---\n%s", wrongPIN, unknown)
		}
		citizen.shoot("tra-cuu-khong-thay")
		citizen.open("/")
		citizen.shoot("tra-cuu")
	})

	t.Run("the look-up works without JavaScript", func(t *testing.T) {
		citizen := s.tab(chrome)
		citizen.t = t
		citizen.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
		citizen.open("/")
		citizen.do(chromedp.SetValue(chromedp.ID("ma"), returned.Code), chromedp.SetValue(chromedp.ID("pin"), returned.LookupPIN))
		citizen.submit(`form[action="/tra-cuu"] button[type=submit]`, ".timeline")
		if st := citizen.text(".status"); st != "Đã trả kết quả" {
			t.Errorf("status %q", st)
		}
		if hidden := citizen.eval(`String(document.querySelector('[data-print]') === null)`); hidden != "true" {
			t.Errorf("script-only controls on the page: %s", hidden)
		}
	})

	t.Run("supervisor opens the dashboard and downloads the XLSX", func(t *testing.T) {
		sup := s.tab(chrome)
		sup.t = t
		sup.open("/dang-nhap")
		sup.shoot("dang-nhap")
		sup.signIn(domain.RoleSupervisor, root)
		sup.open("/giam-sat")
		sup.do(chromedp.WaitVisible(chromedp.CSS("svg")))
		if got := sup.text(".kpis"); !strings.Contains(got, "đã giải quyết") {
			t.Errorf("figures %q", got)
		}
		sup.shoot("giam-sat")

		dir := t.TempDir()
		progress := chromedp.Events(sup.ctx, cdpbrowser.DownloadProgress)
		bc := chromedp.FromContext(sup.ctx).BrowserContextID
		sup.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bc, DownloadPath: dir, EventsEnabled: ptrb(true)})
			return err
		}), chromedp.Click(chromedp.CSS(`a[href^="/giam-sat/xuat/bao-cao"][href*="format=xlsx"]`)))
		var file string
		deadline := time.After(30 * time.Second)
	wait:
		for ev, err := range progress {
			if err != nil {
				t.Fatal(err)
			}
			switch ev.State {
			case cdpbrowser.DownloadProgressStateCompleted:
				file = filepath.Join(dir, ev.GUID)
				break wait
			case cdpbrowser.DownloadProgressStateCanceled:
				t.Fatal("download canceled")
			}
			select {
			case <-deadline:
				t.Fatal("no download")
			default:
			}
		}
		x, err := excelize.OpenFile(file)
		if err != nil {
			t.Fatalf("the download is not an XLSX: %v", err)
		}
		defer x.Close()
		rows, _ := x.GetRows(x.GetSheetList()[0])
		if len(rows) < 3 || rows[0][0] != "Mã cơ quan" || rows[len(rows)-1][1] != "Tổng cộng" {
			t.Errorf("XLSX rows %v", rows)
		}
	})
}
