package portal_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/portal"
	"github.com/motcua/motcua/portal/portaltest"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// lifecycles takes a dossier through each channel's life cycle and returns
// the codes by name.
func lifecycles(e *env) map[string]string {
	c := map[string]string{}
	c["counter"] = e.intake(domain.ChannelCounter)
	e.do(c["counter"], transfer, complete, approve, returnBy(domain.DeliveryCounter))
	c["online"] = e.intake(domain.ChannelOnline)
	e.do(c["online"], accept, transfer, complete, approve, returnBy(domain.DeliveryOnline))
	c["postal"] = e.intake(domain.ChannelPostal)
	e.do(c["postal"], transfer, complete, deny, returnBy(domain.DeliveryPostal))
	c["refused"] = e.intake(domain.ChannelOnline)
	e.do(c["refused"], reason(domain.ActionRefuse, "Thiếu giấy tờ"))
	c["withdrawn"] = e.intake(domain.ChannelCounter)
	e.do(c["withdrawn"], reason(domain.ActionWithdraw, "Công dân xin rút"))
	c["supplement"] = e.intake(domain.ChannelCounter)
	e.do(c["supplement"], transfer, domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "Thiếu bản sao", Items: []string{"CCCD"}},
		act(domain.ActionReceiveSupplement), complete, approve, returnBy(domain.DeliveryCounter))
	c["extended"] = e.intake(domain.ChannelCounter)
	e.do(c["extended"], transfer, reason(domain.ActionExtend, "Cần xác minh thêm"), complete, approve, returnBy(domain.DeliveryPostal))
	c["stopped"] = e.intake(domain.ChannelCounter)
	e.do(c["stopped"], transfer, reason(domain.ActionStop, "Không đủ điều kiện"))
	return c
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestLifecycles: every channel's life cycle reaches the portal whole: the
// record as the dossier stands, every history line once, in order, the
// statuses as they are.
func TestLifecycles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.start(portal.Options{Workers: 4}, 5*time.Second)
		codes := lifecycles(e)
		e.waitSynced(30*time.Second, values(codes)...)
		for name, code := range codes {
			d := e.check(code)
			want := map[string]domain.Status{"counter": domain.StatusReturned, "online": domain.StatusReturned, "postal": domain.StatusReturned,
				"refused": domain.StatusRefused, "withdrawn": domain.StatusWithdrawn, "supplement": domain.StatusReturned,
				"extended": domain.StatusReturned, "stopped": domain.StatusStopped}[name]
			if d.Status != want {
				t.Errorf("%s: status %s", name, d.Status)
			}
		}
		// The fields that depend on the channel and the events.
		rec := func(code string) portal.Record {
			calls := e.fake.Accepted(code)
			var r portal.Record
			for _, c := range calls {
				if c.Service == portal.ServiceRecord {
					_ = json.Unmarshal(c.Data, &r)
				}
			}
			return r
		}
		for name, want := range map[string]int{"counter": 1, "online": 2, "postal": 3} {
			r := rec(codes[name])
			if r.KenhThucHien != want || r.NgayTiepNhan == "" || r.NgayTra == "" || r.HinhThuc == nil || r.NgayKetThucXuLy == "" {
				t.Errorf("%s: record %+v", name, r)
			}
		}
		if r := rec(codes["online"]); *r.HinhThuc != 2 || r.ChuHoSo != "Trần Văn An" || r.DonViXuLy != dept || r.TenTTHC != "Đăng ký hộ kinh doanh" {
			t.Errorf("online: record %+v", r)
		}
		if r := rec(codes["refused"]); r.NgayTuChoi == "" || r.NgayTiepNhan != "" || r.TrangThaiHoSo != 3 {
			t.Errorf("refused: record %+v", r)
		}
		if r := rec(codes["supplement"]); len(r.DanhSachHoSoBoSung) != 1 || r.DanhSachHoSoBoSung[0].NgayTiepNhanBoSung == "" {
			t.Errorf("supplement: record %+v", r)
		}
		if r := rec(codes["extended"]); len(r.DanhSachHoSoBoSung) != 1 || r.DanhSachHoSoBoSung[0].NgayHenTraMoi == "" {
			t.Errorf("extended: record %+v", r)
		}
		// Status 5 went to the portal as 5, never rewritten.
		saw5 := false
		for _, c := range e.fake.Accepted(codes["supplement"]) {
			var p portal.Progress
			_ = json.Unmarshal(c.Data, &p)
			if c.Service == portal.ServiceProgress && p.TrangThai == 5 {
				saw5 = true
			}
		}
		if !saw5 {
			t.Error("supplement: no progress entry with status 5")
		}
		// The unit and the person of a step officer's line.
		for _, c := range e.fake.Accepted(codes["stopped"]) {
			var p portal.Progress
			_ = json.Unmarshal(c.Data, &p)
			if c.Service == portal.ServiceProgress && p.TrangThai == 8 && (p.PhongBanXuLy != "Sở Kế hoạch và Đầu tư" || p.NguoiXuLy != string([]rune(longName)[:50])) {
				t.Errorf("stop line: %+v", p)
			}
		}
		if e.fake.SignIns() != 1 {
			t.Errorf("%d sign-ins, want 1", e.fake.SignIns())
		}
		// The dossier shows its state; the scorecard's count sees the
		// received ones (counter, online accepted, postal, ...) but not the
		// online one refused before acceptance.
		ps, err := e.svc.PortalState(e.ctx, codes["counter"])
		if err != nil || ps == nil || ps.Pending || ps.SyncedAt == nil || ps.LastError != "" {
			t.Errorf("portal state %+v %v", ps, err)
		}
		n, err := st.PortalRecordsSynced(e.ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), time.Time{})
		total := 0
		for _, v := range n { // per lead agency
			total += v
		}
		if err != nil || total != len(codes)-1 || n[reception] != 0 {
			t.Errorf("records synced %v %v, want %d by lead agency", n, err, len(codes)-1)
		}
		for _, c := range []struct {
			name                   string
			from, to, syncedBefore time.Time
		}{
			{"a period before", time.Now().Add(-48 * time.Hour), time.Now().Add(-24 * time.Hour), time.Time{}},
			{"synced before the test began", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), time.Now().Add(-time.Hour)},
		} {
			if n, err := st.PortalRecordsSynced(e.ctx, c.from, c.to, c.syncedBefore); err != nil || len(n) != 0 {
				t.Errorf("%s: records synced %v %v, want none", c.name, n, err)
			}
		}
	})
}

// TestOutage: the portal is away while dossiers move; when it is back every
// dossier ends as it stands, nothing twice.
func TestOutage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.start(portal.Options{Workers: 4}, 5*time.Second)
		a := e.intake(domain.ChannelCounter)
		e.waitSynced(20*time.Second, a)
		var down atomic.Bool
		down.Store(true)
		e.fake.Behave(func(portaltest.Call) *portaltest.Answer {
			if down.Load() {
				return &portaltest.Answer{Status: 503, Body: "<html>Bảo trì</html>"}
			}
			return nil
		})
		e.do(a, transfer, complete)
		b := e.intake(domain.ChannelPostal)
		e.do(b, transfer)
		c := e.intake(domain.ChannelOnline)
		e.do(c, accept)
		// Wait until the outage was met, then move more.
		deadline := time.Now().Add(10 * time.Second)
		for {
			bl, _ := st.PortalBacklog(e.ctx, 5)
			if bl.Retrying > 0 && strings.Contains(bl.Failing[0].LastError, "not the protocol's JSON") {
				if bl.OldestPendingSince == nil || time.Since(*bl.OldestPendingSince) > time.Minute {
					t.Errorf("oldest pending %v", bl.OldestPendingSince)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outage not seen: %+v", bl)
			}
			time.Sleep(20 * time.Millisecond)
		}
		e.do(a, approve)
		e.do(b, complete, approve, returnBy(domain.DeliveryPostal))
		e.do(c, transfer)
		ps, _ := e.svc.PortalState(e.ctx, a)
		if !ps.Pending {
			t.Errorf("during the outage the dossier is not pending: %+v", ps)
		}
		down.Store(false)
		e.waitSynced(30*time.Second, a, b, c)
		for _, code := range []string{a, b, c} {
			e.check(code)
		}
	})
}

// TestSessionExpiry: an expired session is signed in again and the call
// repeated; nothing is lost or sent twice.
func TestSessionExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.start(portal.Options{Workers: 2}, 5*time.Second)
		a := e.intake(domain.ChannelCounter)
		e.waitSynced(20*time.Second, a)
		e.fake.ExpireSessions()
		e.do(a, transfer, complete, approve, returnBy(domain.DeliveryCounter))
		e.waitSynced(20*time.Second, a)
		e.check(a)
		if e.fake.SignIns() != 2 {
			t.Errorf("%d sign-ins, want 2", e.fake.SignIns())
		}
		expired := 0
		for _, c := range e.fake.Calls() {
			if c.Answered == 401 {
				expired++
			}
		}
		if expired == 0 {
			t.Error("no call met the expired session")
		}
	})
}

// TestCrashBetweenAnswerAndCommit: the sync stops as a SIGKILL would right
// after the portal acknowledged a progress entry, before the state's
// commit. Another instance takes the dossier when the lease runs out and
// sends that one entry again (the only repeat the design allows, counted as
// resent), then the rest once.
func TestCrashBetweenAnswerAndCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		a := e.intake(domain.ChannelCounter)
		e.do(a, transfer, complete, approve)
		o := portal.Options{Workers: 2, Lease: time.Second, Durable: "crash-a"}
		portal.CrashAfterAnswer(&o, func(code, inflight string) bool { return code == a && inflight == "entry:3" })
		_, _, done := e.start(o, 900*time.Millisecond)
		select {
		case err := <-done:
			if !isCrash(err) {
				t.Fatalf("run ended with %v, want the crash", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no crash")
		}
		e.do(a, returnBy(domain.DeliveryCounter))
		e.start(portal.Options{Workers: 2, Durable: "crash-a"}, 5*time.Second)
		e.waitSynced(30*time.Second, a)
		e.check(a, 3)
		bl, err := st.PortalBacklog(e.ctx, 0)
		if err != nil || bl.Resent != 1 {
			t.Errorf("backlog %+v %v: want one resent call", bl, err)
		}
	})
}

// TestTwoInstances: two syncers at once (same durable consumer) never send
// a dossier's calls twice or out of order.
func TestTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.fake.SetDelay(5 * time.Millisecond)
		e.start(portal.Options{Workers: 3}, 5*time.Second)
		e.start(portal.Options{Workers: 3}, 5*time.Second)
		var codes []string
		for range 3 {
			codes = append(codes, values(lifecycles(e))...)
		}
		e.waitSynced(60*time.Second, codes...)
		for _, c := range codes {
			e.check(c)
		}
	})
}

// TestBadAnswers: answers that are not the protocol's, a hanging portal, a
// redirect to another host, an unknown error_code: retried, nothing lost or
// sent twice; a content refusal parks the dossier with the portal's message
// while others go on, until a resync.
func TestBadAnswers(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(`{"error_code": 0}`))
	}))
	defer other.Close()
	cases := []struct {
		name   string
		answer portaltest.Answer
		times  int
	}{
		{"not JSON", portaltest.Answer{Body: "<html>502 Bad Gateway</html>", Status: 200}, 2},
		{"unknown error_code", portaltest.Answer{Code: 99, Message: "lỗi hệ thống"}, 2},
		{"hanging", portaltest.Answer{Hang: true}, 1},
		{"redirect elsewhere", portaltest.Answer{Redirect: other.URL + "/integration"}, 2},
		{"HTTP 500 JSON", portaltest.Answer{Status: 500, Code: 0}, 1},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.start(portal.Options{Workers: 2}, 1500*time.Millisecond)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				parent := e.t
				e.t = t
				defer func() { e.t = parent }()
				var left atomic.Int32
				left.Store(int32(tc.times))
				e.fake.Behave(func(c portaltest.Call) *portaltest.Answer {
					if c.Service == portal.ServiceProgress && left.Add(-1) >= 0 {
						a := tc.answer
						return &a
					}
					return nil
				})
				a := e.intake(domain.ChannelCounter)
				e.do(a, transfer)
				e.waitSynced(30*time.Second, a)
				e.check(a)
				if left.Load() >= 0 {
					t.Errorf("the bad answer was not met")
				}
			})
		}
		if elsewhere.Load() != 0 {
			t.Errorf("%d calls reached the other host", elsewhere.Load())
		}
		t.Run("content refusal", func(t *testing.T) {
			parent := e.t
			e.t = t
			defer func() { e.t = parent }()
			var refuse atomic.Bool
			refuse.Store(true)
			bad := e.intake(domain.ChannelCounter)
			e.fake.Behave(func(c portaltest.Call) *portaltest.Answer {
				if c.Code == bad && refuse.Load() {
					return &portaltest.Answer{Code: 422, Message: "SoGiayToChuHoSo 001099012345 không hợp lệ"}
				}
				return nil
			})
			e.do(bad, transfer)
			good := e.intake(domain.ChannelPostal)
			e.do(good, transfer, complete)
			e.waitSynced(30*time.Second, good)
			e.check(good)
			deadline := time.Now().Add(20 * time.Second)
			for {
				ps, _ := e.svc.PortalState(e.ctx, bad)
				if ps != nil && ps.Parked {
					if !strings.Contains(ps.LastError, "không hợp lệ") || strings.Contains(ps.LastError, "001099012345") || !ps.Pending {
						t.Errorf("parked state %+v: want the portal's message, the ID number masked", ps)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not parked: %+v", ps)
				}
				time.Sleep(20 * time.Millisecond)
			}
			bl, _ := st.PortalBacklog(e.ctx, 10)
			if bl.Parked != 1 || len(bl.Failing) == 0 || bl.Failing[0].Code != bad || bl.Failing[0].ParkedAt == nil {
				t.Errorf("backlog %+v", bl)
			}
			n := len(e.fake.Calls())
			time.Sleep(300 * time.Millisecond) // a parked dossier is not tried again
			if got := len(e.fake.Calls()); got != n {
				t.Errorf("%d calls while parked", got-n)
			}
			refuse.Store(false)
			if err := st.PortalResync(e.ctx, bad, time.Now()); err != nil {
				t.Fatal(err)
			}
			e.waitSynced(30*time.Second, bad)
			e.check(bad)
		})
	})
}
