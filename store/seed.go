package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motcua/motcua/domain"
)

// SeedOptions drive Seed, which fills the database with a national-scale
// synthetic data set for benchmarks and demos (`motcua seed --dossiers N`):
// 34 provinces, each with
// its people's committee, public-service centre, twelve departments with an
// office each and twenty-four communes; a few thousand procedures; and N
// dossiers received over the last months, each carried through its life by
// the domain's own state machine (domain.Receive, Dossier.Apply) with the
// receiving unit's calendar, so deadlines, verdicts, pauses, extensions,
// hand-offs and history are what the service itself would have written. The
// roll-ups are counted from the same history lines with domain.StatStep,
// so they equal a recount. No events are written (the outbox stays empty),
// and the deadline watcher's next check is the first one after Now.
//
// PostgreSQL is filled with COPY on five connections at once, with the
// secondary indexes and foreign keys of the dossier tables dropped during the
// load and created again after it; SQLite with multi-row INSERTs in one
// transaction per day.
type SeedOptions struct {
	Dossiers int
	// Months of receptions, ending at Now (default 12).
	Months int
	// Now is the end of the simulated time (default: the wall clock); actions
	// due after it have not happened yet, so recent dossiers are still open.
	Now time.Time
	// Seed makes the data reproducible.
	Seed   uint64
	Logger *slog.Logger
	// HashPIN stores a PIN with the service's keyed hash
	// (service.SeedPINHasher); nil writes the older unkeyed format, which
	// the service upgrades at its next start.
	HashPIN func(salt []byte, pin string) string
}

// SeedResult says what was written.
type SeedResult struct {
	Agencies, Procedures                       int
	Dossiers, Steps, Pauses, History, Handoffs int64
	DailyRollups, MonthlyRollups, OpenDossiers int
	// Load is the wall time of simulating and loading the dossiers,
	// Generate the time the workers spent simulating (summed over them),
	// Index the time of the roll-ups, indexes, constraints and statistics.
	Generate, Load, Index                         time.Duration
	Samples                                       []SeedSample
	ReceivedFrom, ReceivedTo                      time.Time
	Late, Extended, Supplemented, Rated, Returned int64
}

// SeedSample is a seeded dossier a person can look up.
type SeedSample struct {
	Code, PIN, Status string
}

// seedProvinces are the 34 provinces and cities since 1 July 2025.
var seedProvinces = []string{"Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa",
	"Nghệ An", "Hà Tĩnh", "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên",
	"Hải Phòng", "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk",
	"Hồ Chí Minh", "Đồng Nai", "Tây Ninh", "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang"}

var seedDepartments = []struct{ name, office string }{
	{"Sở Tư pháp", "Phòng Hành chính tư pháp"}, {"Sở Xây dựng", "Phòng Quản lý xây dựng"},
	{"Sở Tài chính", "Phòng Đăng ký kinh doanh"}, {"Sở Công Thương", "Phòng Quản lý thương mại"},
	{"Sở Nông nghiệp và Môi trường", "Phòng Quản lý đất đai"}, {"Sở Y tế", "Phòng Nghiệp vụ y"},
	{"Sở Giáo dục và Đào tạo", "Phòng Khảo thí"}, {"Sở Nội vụ", "Phòng Lao động, việc làm"},
	{"Sở Khoa học và Công nghệ", "Phòng Bưu chính, viễn thông"}, {"Sở Văn hóa, Thể thao và Du lịch", "Phòng Quản lý du lịch"},
	{"Sở Dân tộc và Tôn giáo", "Phòng Tôn giáo"}, {"Sở Ngoại vụ", "Phòng Lãnh sự"},
}

var seedProvinceProcedures = []string{"Cấp phiếu lý lịch tư pháp", "Cấp giấy phép xây dựng", "Đăng ký thành lập doanh nghiệp",
	"Cấp giấy phép kinh doanh", "Cấp giấy chứng nhận quyền sử dụng đất", "Cấp chứng chỉ hành nghề", "Công nhận văn bằng",
	"Cấp giấy phép lao động", "Cấp giấy phép hoạt động", "Thẩm định thiết kế", "Đăng ký hoạt động tín ngưỡng", "Hợp pháp hóa lãnh sự",
	"Cấp giấy phép môi trường", "Đăng ký nhãn hiệu", "Cấp giấy chứng nhận đủ điều kiện"}

var seedCommuneProcedures = []string{"Đăng ký khai sinh", "Đăng ký kết hôn", "Chứng thực bản sao từ bản chính",
	"Đăng ký khai tử", "Xác nhận tình trạng hôn nhân", "Đăng ký thường trú", "Đăng ký hộ kinh doanh", "Cấp bản sao trích lục hộ tịch"}

var seedFamily = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
var seedMiddle = []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Hoài", "Xuân"}
var seedGiven = []string{"An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long", "Mai",
	"Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"}

// seedProc is a procedure with what the generator needs of it.
type seedProc struct {
	p         domain.Procedure
	idx       int
	receiving int // index into seedGen.agencies
	cal       *domain.Calendar
}

// seedGen is the generator's shared, read-only part once the catalogue is
// built; each worker simulates whole days with its own random source.
type seedGen struct {
	o        SeedOptions
	agencies []domain.Agency
	procs    []*seedProc
	alias    *aliasTable
	admin    domain.Actor
}

// seedWorker simulates days; its roll-ups are merged at the end.
type seedWorker struct {
	g   *seedGen
	rng *rand.Rand
	// sums holds, per roll-up table (rollupTables' order), the counters by
	// (key << 32 | procedure index).
	sums [3]map[uint64]*domain.StatCounts
	// late holds the lateness roll-ups: [0] per date, [1] per month.
	late [2]map[lateKey]*lateCounts
}

func (g *seedGen) worker() *seedWorker {
	w := &seedWorker{g: g}
	for i := range w.sums {
		w.sums[i] = map[uint64]*domain.StatCounts{}
	}
	for i := range w.late {
		w.late[i] = map[lateKey]*lateCounts{}
	}
	return w
}

// catalogue builds the agencies and procedures.
func (g *seedGen) catalogue(rng *rand.Rand, created time.Time) {
	centreHours, _ := domain.ParseOfficeHours(map[string][]string{
		"mon": {"07:30-11:30", "13:30-17:00"}, "tue": {"07:30-11:30", "13:30-17:00"}, "wed": {"07:30-11:30", "13:30-17:00"},
		"thu": {"07:30-11:30", "13:30-17:00"}, "fri": {"07:30-11:30", "13:30-17:00"}, "sat": {"07:30-11:30"},
	})
	defCal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	centreCal := domain.NewCalendar(centreHours, nil)
	add := func(a domain.Agency) int {
		a.CreatedAt, a.UpdatedAt = created, created
		g.agencies = append(g.agencies, a)
		return len(g.agencies) - 1
	}
	var weights []float64
	online := []domain.Online{domain.OnlineFull, domain.OnlineFull, domain.OnlinePartial, domain.OnlinePartial, domain.OnlineNone}
	for pi, pname := range seedProvinces {
		sfx := fmt.Sprintf("T%02d", pi+1)
		provinceWeight := 0.4 + 2.6*rng.Float64()
		if pi == 0 || pi == 26 { // the two largest cities
			provinceWeight = 6
		}
		root := "000.00.00." + sfx
		add(domain.Agency{Code: root, Name: "Ủy ban nhân dân " + pname})
		centre := add(domain.Agency{Code: "000.00.10." + sfx, Name: "Trung tâm Phục vụ hành chính công " + pname, ParentCode: root, Hours: &centreHours})
		for di, dep := range seedDepartments {
			dcode := fmt.Sprintf("000.00.%02d.%s", 11+di, sfx)
			add(domain.Agency{Code: dcode, Name: dep.name + " " + pname, ParentCode: root})
			ocode := fmt.Sprintf("000.%02d.01.%s", 11+di, sfx)
			add(domain.Agency{Code: ocode, Name: dep.office, ParentCode: dcode})
			for k := range 8 {
				days := []float64{3, 5, 7, 10, 15, 20}[rng.IntN(6)]
				minutes := int64(days * domain.MinutesPerWorkingDay)
				p := domain.Procedure{Code: fmt.Sprintf("1.%06d.%s", 1000+di*100+k, sfx), Version: 1,
					Name: seedProvinceProcedures[(di+k)%len(seedProvinceProcedures)], AgencyCode: dcode,
					Unit: domain.UnitWorkingDays, Amount: days, Minutes: minutes, SupplementClock: []domain.SupplementClock{domain.ClockRestart, domain.ClockPause}[k%2],
					Online: online[(di+k)%len(online)], CreatedAt: created}
				first := minutes * 2 / 3 / 60 * 60
				p.Steps = []domain.StepDef{{Name: "Thẩm định hồ sơ", AgencyCode: ocode, Minutes: first}, {Name: "Phê duyệt", AgencyCode: dcode, Minutes: minutes - first}}
				g.procs = append(g.procs, &seedProc{p: p, receiving: centre, cal: centreCal})
				weights = append(weights, provinceWeight*0.4/math.Pow(float64(k+1), 0.9)/float64(len(seedDepartments)))
			}
		}
		for ci := range 24 {
			ccode := fmt.Sprintf("C%02d.00.00.%s", ci+1, sfx)
			commune := add(domain.Agency{Code: ccode, Name: fmt.Sprintf("Ủy ban nhân dân xã %d, %s", ci+1, pname), ParentCode: root})
			communeWeight := 0.3 + 1.7*rng.Float64()
			for k := range 5 {
				hours := []float64{4, 8, 16, 24, 40}[(ci+k)%5]
				minutes := int64(hours * 60)
				p := domain.Procedure{Code: fmt.Sprintf("2.%06d.C%02d%s", 1000+k, ci+1, sfx), Version: 1,
					Name: seedCommuneProcedures[(ci+k)%len(seedCommuneProcedures)], AgencyCode: ccode,
					Unit: domain.UnitWorkingHours, Amount: hours, Minutes: minutes, SupplementClock: domain.ClockPause,
					Online: online[(ci+2*k)%len(online)], CreatedAt: created}
				p.Normalize()
				g.procs = append(g.procs, &seedProc{p: p, receiving: commune, cal: defCal})
				weights = append(weights, provinceWeight*0.6*communeWeight/math.Pow(float64(k+1), 1.1)/24)
			}
		}
	}
	for i, p := range g.procs {
		p.idx = i
	}
	g.alias = newAlias(weights)
}

// aliasTable draws an index by weight in constant time (Vose's method).
type aliasTable struct {
	prob  []float64
	alias []int
}

func newAlias(w []float64) *aliasTable {
	n := len(w)
	var sum float64
	for _, x := range w {
		sum += x
	}
	t := &aliasTable{prob: make([]float64, n), alias: make([]int, n)}
	scaled := make([]float64, n)
	var small, large []int
	for i, x := range w {
		scaled[i] = x * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		t.prob[s], t.alias[s] = scaled[s], l
		scaled[l] += scaled[s] - 1
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		t.prob[i] = 1
	}
	return t
}

func (t *aliasTable) draw(rng *rand.Rand) int {
	i := rng.IntN(len(t.prob))
	if rng.Float64() < t.prob[i] {
		return i
	}
	return t.alias[i]
}

// seedBatch is what one simulated day writes, with ids counted from 1
// within the batch (the writer moves them past what is already written).
type seedBatch struct {
	day      domain.Date
	dossiers []dossierRow
	steps    []stepRow
	pauses   []pauseRow
	history  []historyRow
	handoffs []handoffRow
	open     []rollupOpenRow
	spans    []overdueSpanRow
	seqs     map[int]int64 // receiving agency -> last sequence of the day
	samples  []SeedSample

	Late, Extended, Supplemented, Rated, Returned int64
}

// offset moves the batch's ids past those already written.
func (b *seedBatch) offset(ids *seedIDs) {
	for i := range b.dossiers {
		b.dossiers[i].ID += ids.dossier
	}
	for i := range b.steps {
		b.steps[i].DossierID += ids.dossier
	}
	for i := range b.pauses {
		b.pauses[i].ID += ids.pause
		b.pauses[i].DossierID += ids.dossier
	}
	for i := range b.history {
		b.history[i].ID += ids.history
		b.history[i].DossierID += ids.dossier
	}
	for i := range b.handoffs {
		b.handoffs[i].ID += ids.handoff
		b.handoffs[i].DossierID += ids.dossier
	}
	for i := range b.open {
		b.open[i].DossierID += ids.dossier
	}
	for i := range b.spans {
		b.spans[i].DossierID += ids.dossier
	}
	ids.dossier += int64(len(b.dossiers))
	ids.pause += int64(len(b.pauses))
	ids.history += int64(len(b.history))
	ids.handoff += int64(len(b.handoffs))
}

// seedIDs are the last ids written.
type seedIDs struct{ dossier, pause, history, handoff int64 }

// workingAfter returns the instant minutes of working time after t.
func workingAfter(cal *domain.Calendar, t time.Time, minutes float64) time.Time {
	return cal.Add(t, int64(math.Max(0, minutes)))
}

// simulate runs one dossier's life from its reception at t0 until its end
// or Now, and appends its rows to b.
func (w *seedWorker) simulate(b *seedBatch, sp *seedProc, t0 time.Time, channel domain.Channel) {
	g := w.g
	rng, cal, now := w.rng, sp.cal, g.o.Now
	p := sp.p
	delivery := domain.DeliveryCounter
	switch r := rng.Float64(); {
	case r < 0.10:
		delivery = domain.DeliveryPostal
	case channel == domain.ChannelOnline && r < 0.45:
		delivery = domain.DeliveryOnline
	}
	if channel == domain.ChannelPostal && rng.Float64() < 0.7 {
		delivery = domain.DeliveryPostal
	}
	recv := g.agencies[sp.receiving].Code
	local := t0.In(domain.Vietnam())
	if b.seqs == nil {
		b.seqs = map[int]int64{}
	}
	b.seqs[sp.receiving]++
	code := domain.DossierCode(recv, local, b.seqs[sp.receiving])
	pin := pad(rng.IntN(100_000_000), 8)
	var salt [16]byte
	for i := range salt {
		salt[i] = byte(rng.UintN(256))
	}
	var pinHash string
	if g.o.HashPIN != nil {
		pinHash = g.o.HashPIN(salt[:], pin)
	} else {
		h := sha256.New()
		h.Write(salt[:])
		h.Write([]byte(pin))
		pinHash = "s256$" + hex.EncodeToString(salt[:]) + "$" + hex.EncodeToString(h.Sum(nil))
	}
	name := seedFamily[rng.IntN(len(seedFamily))] + " " + seedMiddle[rng.IntN(len(seedMiddle))] + " " + seedGiven[rng.IntN(len(seedGiven))]
	in := domain.IntakeInput{Procedure: p, AgencyCode: recv, Channel: channel, Delivery: delivery,
		Applicant: domain.Applicant{Name: name, IDNumber: "0" + pad(rng.IntN(96), 2) + pad(rng.IntN(1_000_000_000), 9),
			Phone: "09" + pad(rng.IntN(100_000_000), 8)},
		Documents: []string{"Tờ khai", "Bản sao giấy tờ tùy thân"}, ReceivedAt: t0}
	d, ch := domain.Receive(in, code, pinHash, cal, g.admin, t0, domain.DefaultDueSoonLead)
	d.History = ch.History
	// The overdue states, as the command transactions keep them
	// (writeSpans): versions in force and those that ended overdue.
	var openSpans, spans []overdueSpanRow
	trackSpans := func(at time.Time) {
		closed, deleted, added := advanceSpans(openSpans, spansOf(d, at), at)
		spans = append(spans, closed...)
		keep := openSpans[:0]
		for _, o := range openSpans {
			if !slices.ContainsFunc(closed, func(c overdueSpanRow) bool { return c.same(o) }) &&
				!slices.ContainsFunc(deleted, func(c overdueSpanRow) bool { return c.same(o) }) {
				keep = append(keep, o)
			}
		}
		openSpans = append(keep, added...)
	}
	trackSpans(t0)

	t := t0
	ok := true
	act := func(at time.Time, in domain.TransitionInput) bool {
		if !ok || at.After(now) {
			ok = false
			return false
		}
		if at.Before(t) {
			at = t
		}
		actor := g.admin
		if s := d.Current(); s != nil && in.Action == domain.ActionCompleteStep {
			// One of five officers of the step's unit finishes it: the
			// lateness report per officer reads them.
			k := rng.IntN(5)
			actor = domain.Actor{Sub: "can-bo-" + strconv.Itoa(k+1) + "@" + s.AgencyCode, Name: seedFamily[k%len(seedFamily)] + " " +
				seedMiddle[k%len(seedMiddle)] + " " + seedGiven[(k+len(s.AgencyCode))%len(seedGiven)], Roles: g.admin.Roles}
		}
		if _, err := d.Apply(in, actor, at, cal, domain.DefaultDueSoonLead); err != nil {
			ok = false
			return false
		}
		t = at
		trackSpans(at)
		return true
	}
	reason := func(a domain.Action) domain.TransitionInput {
		return domain.TransitionInput{Action: a, Reason: "Theo đề nghị"}
	}
	if channel == domain.ChannelOnline {
		at := workingAfter(cal, t0, rng.Float64()*6*60)
		switch r := rng.Float64(); {
		case r < 0.006:
			act(at, reason(domain.ActionRefuse))
		case r < 0.009:
			act(at, reason(domain.ActionWithdraw))
		default:
			act(at, domain.TransitionInput{Action: domain.ActionAccept})
		}
	}
	if ok && d.Status == domain.StatusReceived {
		switch r := rng.Float64(); {
		case r < 0.003:
			act(workingAfter(cal, t, 30), reason(domain.ActionRefuse))
		case r < 0.006:
			act(workingAfter(cal, t, 60), reason(domain.ActionWithdraw))
		default:
			act(workingAfter(cal, t, 5+rng.Float64()*85), domain.TransitionInput{Action: domain.ActionTransfer})
		}
	}
	for ok && d.Status == domain.StatusProcessing {
		s := d.Current()
		// How long the unit works on the step, as a share of its allotment:
		// most finish within it, some run over.
		var f float64
		switch r := rng.Float64(); {
		case r < 0.78:
			f = 0.1 + 0.7*rng.Float64()
		case r < 0.96:
			f = 0.8 + 0.15*rng.Float64()
		default:
			f = 1 + 1.5*rng.Float64()
		}
		work := f * float64(s.Clock.Budget)
		done := 0.0
		if s.Seq == 1 && rng.Float64() < 0.07 {
			x := work * 0.3
			if !act(workingAfter(cal, t, x), domain.TransitionInput{Action: domain.ActionRequestSupplement,
				Reason: "Hồ sơ chưa đầy đủ", Items: []string{"Bản sao có chứng thực"}}) {
				break
			}
			done = x
			wait := (0.5 + 14*rng.Float64()*rng.Float64()) * domain.MinutesPerWorkingDay
			if rng.Float64() < 0.08 {
				wait = 16 * domain.MinutesPerWorkingDay
			}
			if wait >= 15*domain.MinutesPerWorkingDay {
				act(workingAfter(cal, t, 15*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionStop, Reason: domain.ReasonUnsupplemented})
				break
			}
			if !act(workingAfter(cal, t, wait), domain.TransitionInput{Action: domain.ActionReceiveSupplement}) {
				break
			}
			if d.SupplementClock == domain.ClockRestart {
				done = 0
			}
		}
		if s.Seq == len(d.Steps) && rng.Float64() < 0.05 {
			x := (work - done) * 0.5
			if !act(workingAfter(cal, t, x), domain.TransitionInput{Action: domain.ActionRequestPayment, Amount: 50_000, Reason: "Phí, lệ phí"}) {
				break
			}
			done += x
			if !act(workingAfter(cal, t, (0.1+2*rng.Float64())*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionReceivePayment, Method: seedPayMethod(rng)}) {
				break
			}
		}
		switch r := rng.Float64(); {
		case r < 0.008:
			act(workingAfter(cal, t, (work-done)/2), reason(domain.ActionWithdraw))
		case r < 0.012:
			act(workingAfter(cal, t, (work-done)/2), reason(domain.ActionStop))
		}
		if !ok || d.Status != domain.StatusProcessing {
			break
		}
		finish := workingAfter(cal, t, work-done)
		if due := d.Clock.DueAt; due != nil && finish.After(*due) && d.Extension == nil && rng.Float64() < 0.4 {
			at := workingAfter(cal, t, math.Max(0, float64(cal.Between(t, *due))-rng.Float64()*2*domain.MinutesPerWorkingDay))
			nd := workingAfter(cal, *due, (2+8*rng.Float64())*domain.MinutesPerWorkingDay)
			if nd.Before(finish) && rng.Float64() < 0.7 {
				nd = workingAfter(cal, finish, domain.MinutesPerWorkingDay)
			}
			nd = nd.Truncate(time.Minute)
			act(at, domain.TransitionInput{Action: domain.ActionExtend, Reason: "Cần xác minh thêm", NewDueAt: &nd})
			if !ok {
				break
			}
		}
		in := domain.TransitionInput{Action: domain.ActionCompleteStep}
		if s.Seq == len(d.Steps) {
			in.Result = domain.ResultApproved
			if rng.Float64() < 0.08 {
				in.Result = domain.ResultDenied
			}
		}
		act(finish, in)
	}
	if ok && d.Status == domain.StatusProcessed {
		method := d.Delivery
		if act(workingAfter(cal, t, (0.1+3*rng.Float64())*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionReturnResult, Method: method}) {
			b.Returned++
			if rng.Float64() < 0.25 {
				at := workingAfter(cal, t, rng.Float64()*5*domain.MinutesPerWorkingDay)
				if !at.After(now) {
					rating := []int{5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 2, 1}[rng.IntN(15)]
					if ch, err := d.Rate(rating, "", at); err == nil {
						d.History = append(d.History, ch.History...)
						b.Rated++
					}
				}
			}
		}
	}
	// The watcher's next look: the first check after Now (earlier ones count
	// as done).
	d.NextCheckAt = nil
	for _, c := range d.Checks(cal, domain.DefaultDueSoonLead) {
		if c.At.After(now) && (d.NextCheckAt == nil || c.At.Before(*d.NextCheckAt)) {
			at := c.At
			d.NextCheckAt = &at
		}
	}
	if d.Verdict == domain.VerdictLate {
		b.Late++
	}
	if d.Extension != nil {
		b.Extended++
	}
	if len(d.Pauses) > 0 {
		b.Supplemented++
	}
	w.rows(b, sp, d, pin, append(spans, openSpans...))
}

// rows turns a simulated dossier into table rows and roll-up deltas.
func (w *seedWorker) rows(b *seedBatch, sp *seedProc, d *domain.Dossier, pin string, spans []overdueSpanRow) {
	d.ID = int64(len(b.dossiers) + 1)
	for _, r := range spans {
		r.DossierID = d.ID
		b.spans = append(b.spans, r)
	}
	if len(b.samples) == 0 && b.day.Day == 1 {
		b.samples = append(b.samples, SeedSample{Code: d.Code, PIN: pin, Status: d.Status.String()})
	}
	b.dossiers = append(b.dossiers, toDossierRow(d))
	for _, s := range d.Steps {
		b.steps = append(b.steps, toStepRow(d, s))
	}
	for _, p := range d.Pauses {
		p.ID = int64(len(b.pauses) + 1)
		b.pauses = append(b.pauses, toPauseRow(d.ID, p))
	}
	for _, h := range d.Handoffs {
		b.handoffs = append(b.handoffs, handoffRow{ID: int64(len(b.handoffs) + 1), DossierID: d.ID, StepSeq: h.StepSeq,
			FromUnit: h.FromUnit, ToUnit: h.ToUnit, At: ts(h.At), Verdict: string(h.Verdict), Actor: h.Actor, ActorName: h.ActorName,
			OverrunMinutes: h.OverrunMinutes})
	}
	ld := stepDeltas(d.Handoffs)
	if d.Verdict == domain.VerdictLate && d.ProcessedAt != nil {
		if h, ok := firstLate(d.Handoffs); ok {
			ld = append(ld, lateDelta{At: *d.ProcessedAt, Unit: h.FromUnit, Sub: h.Actor, c: lateCounts{Name: h.ActorName, DossiersLate: 1}})
		}
	}
	for _, x := range ld {
		for i, k := range []int{dayKey(x.At), dayKey(x.At) / 100} {
			key := lateKey{Key: k, Unit: x.Unit, Sub: x.Sub}
			c := w.late[i][key]
			if c == nil {
				c = &lateCounts{}
				w.late[i][key] = c
			}
			c.add(x.c)
		}
	}
	facts := domain.StatFactsOf(d)
	var st *domain.StatState
	for _, h := range d.History {
		b.history = append(b.history, historyRow{ID: int64(len(b.history) + 1), DossierID: d.ID, At: ts(h.At), Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle,
			Action: string(h.Action), FromStatus: int(h.From), ToStatus: int(h.To), Note: h.Note, DueAt: tsp(h.DueAt),
			PromisedAt: tsp(h.PromisedAt), StepDueAt: tsp(h.StepDueAt)})
		var ds []domain.StatDelta
		st, ds = domain.StatStep(facts, st, h)
		for _, x := range ds {
			for i, t := range rollupTables {
				bump(w.sums[i], uint64(t.of(x.Day))<<32|uint64(sp.idx), x)
				if t.allTime {
					bump(w.sums[i], uint64(AllTime)<<32|uint64(sp.idx), x)
				}
			}
		}
	}
	if st != nil {
		b.open = append(b.open, rollupOpenRow{DossierID: d.ID, Since: ts(st.Since), Paused: st.Paused, DueAt: tsp(st.DueAt)})
	}
}

// pad writes n with at least width digits.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func bump(m map[uint64]*domain.StatCounts, k uint64, x domain.StatDelta) {
	c := m[k]
	if c == nil {
		c = &domain.StatCounts{}
		m[k] = c
	}
	c[x.Counter] += x.N
}

// day simulates the n receptions of one local date, with a random source of
// its own (so the data do not depend on how days are spread over workers).
func (w *seedWorker) day(date domain.Date, n int) *seedBatch {
	g := w.g
	w.rng = rand.New(rand.NewPCG(g.o.Seed, uint64(date.DayNumber())))
	b := &seedBatch{day: date, dossiers: make([]dossierRow, 0, n), steps: make([]stepRow, 0, n*3/2+8),
		history: make([]historyRow, 0, n*11/2+8), handoffs: make([]handoffRow, 0, n*5/2+8), pauses: make([]pauseRow, 0, n/8+8)}
	start := date.Time()
	for range n {
		sp := g.procs[g.alias.draw(w.rng)]
		channel := domain.ChannelCounter
		switch r := w.rng.Float64(); {
		case sp.p.Online.Offered() && r < 0.45:
			channel = domain.ChannelOnline
		case r < 0.53:
			channel = domain.ChannelPostal
		}
		// On a day the unit is closed only online dossiers come in: the
		// dossier code carries the day of reception.
		for tries := 0; channel != domain.ChannelOnline && !sp.cal.IsWorkingDay(date) && tries < 20; tries++ {
			if sp = g.procs[g.alias.draw(w.rng)]; sp.p.Online.Offered() {
				channel = domain.ChannelOnline
			}
		}
		if channel != domain.ChannelOnline && !sp.cal.IsWorkingDay(date) {
			continue
		}
		var t0 time.Time
		if channel == domain.ChannelOnline {
			t0 = start.Add(time.Duration(w.rng.Int64N(int64(24 * time.Hour))))
		} else {
			// At the counter or from the post office: within the receiving
			// unit's hours of the day, or its next working morning.
			open := sp.cal.CountingStart(start)
			end := workingAfter(sp.cal, open, 7*60)
			t0 = sp.cal.CountingStart(open.Add(time.Duration(w.rng.Int64N(int64(end.Sub(open))))))
			if domain.DateOf(t0) != date { // a short day (Saturday morning)
				t0 = open
			}
		}
		t0 = t0.UTC().Truncate(time.Microsecond)
		if t0.After(g.o.Now) {
			continue
		}
		w.simulate(b, sp, t0, channel)
	}
	return b
}

var (
	seedDossierCols = []string{"id", "code", "agency_code", "lead_agency_code", "procedure_code", "procedure_version",
		"supplement_clock", "channel", "delivery", "status", "applicant_name", "applicant_id_number", "applicant_phone",
		"applicant_email", "applicant_address", "documents", "pin_hash", "pin_failures", "pin_locked_until", "received_at",
		"counting_from", "budget_minutes", "used_minutes", "running_since", "due_at", "original_due_at", "promised_at",
		"extension_reason", "extended_at", "extension_late", "result", "verdict", "processed_at", "returned_at", "return_method",
		"closed_at", "current_step", "holder_code", "next_deadline_at", "rating", "rating_comment", "rated_at", "version",
		"created_at", "updated_at", "overdue_from"}
	seedStepCols    = []string{"dossier_id", "seq", "name", "agency_code", "allotted_minutes", "used_minutes", "running_since", "started_at", "due_at", "finished_at", "verdict", "overdue_from"}
	seedPauseCols   = []string{"id", "dossier_id", "kind", "clock", "reason", "items", "amount", "started_at", "ended_at", "method"}
	seedHistoryCols = []string{"id", "dossier_id", "at", "actor", "actor_name", "actor_title", "action", "from_status", "to_status", "note", "due_at", "promised_at", "step_due_at"}
	seedHandoffCols = []string{"id", "dossier_id", "step_seq", "from_unit", "to_unit", "at", "verdict", "actor", "actor_name", "overrun_minutes"}
	seedOpenCols    = []string{"dossier_id", "since", "paused", "due_at"}
	seedSpanCols    = []string{"dossier_id", "kind", "step_seq", "step_name", "valid_from", "valid_to", "overdue_from", "status",
		"holder_code", "lead_agency_code", "agency_code", "procedure_code"}
)

// seedTable is a table a day's batch fills: its columns, and each row's
// values as pointers into the batch (no copy, no boxing).
type seedTable struct {
	name string
	cols []string
	n    func(b *seedBatch) int
	row  func(b *seedBatch, i int, buf []any) []any
}

var seedTables = []seedTable{
	{"dossiers", seedDossierCols, func(b *seedBatch) int { return len(b.dossiers) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.dossiers[i]
		return append(buf[:0], &r.ID, &r.Code, &r.AgencyCode, &r.LeadAgencyCode, &r.ProcedureCode, &r.ProcedureVersion,
			&r.SupplementClock, &r.Channel, &r.Delivery, &r.Status, &r.ApplicantName, &r.ApplicantIDNumber, &r.ApplicantPhone,
			&r.ApplicantEmail, &r.ApplicantAddress, &r.Documents, &r.PINHash, &r.PINFailures, r.PINLockedUntil, &r.ReceivedAt,
			r.CountingFrom, &r.BudgetMinutes, &r.UsedMinutes, r.RunningSince, r.DueAt, r.OriginalDueAt, r.PromisedAt,
			r.ExtensionReason, r.ExtendedAt, r.ExtensionLate, r.Result, &r.Verdict, r.ProcessedAt, r.ReturnedAt, r.ReturnMethod,
			r.ClosedAt, &r.CurrentStep, &r.HolderCode, r.NextDeadlineAt, r.Rating, r.RatingComment, r.RatedAt, &r.Version,
			&r.CreatedAt, &r.UpdatedAt, r.OverdueFrom)
	}},
	{"dossier_steps", seedStepCols, func(b *seedBatch) int { return len(b.steps) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.steps[i]
		return append(buf[:0], &r.DossierID, &r.Seq, &r.Name, &r.AgencyCode, &r.AllottedMinutes, &r.UsedMinutes, r.RunningSince,
			r.StartedAt, r.DueAt, r.FinishedAt, &r.Verdict, r.OverdueFrom)
	}},
	{"dossier_pauses", seedPauseCols, func(b *seedBatch) int { return len(b.pauses) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.pauses[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.Kind, &r.Clock, &r.Reason, &r.Items, &r.Amount, &r.StartedAt, r.EndedAt, &r.Method)
	}},
	{"dossier_history", seedHistoryCols, func(b *seedBatch) int { return len(b.history) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.history[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.At, &r.Actor, &r.ActorName, &r.ActorTitle, &r.Action, &r.FromStatus, &r.ToStatus, &r.Note, r.DueAt,
			r.PromisedAt, r.StepDueAt)
	}},
	{"dossier_handoffs", seedHandoffCols, func(b *seedBatch) int { return len(b.handoffs) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.handoffs[i]
		return append(buf[:0], &r.ID, &r.DossierID, &r.StepSeq, &r.FromUnit, &r.ToUnit, &r.At, &r.Verdict, &r.Actor, &r.ActorName, &r.OverrunMinutes)
	}},
	{"rollup_open", seedOpenCols, func(b *seedBatch) int { return len(b.open) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.open[i]
		return append(buf[:0], &r.DossierID, &r.Since, &r.Paused, r.DueAt)
	}},
	{"overdue_spans", seedSpanCols, func(b *seedBatch) int { return len(b.spans) }, func(b *seedBatch, i int, buf []any) []any {
		r := &b.spans[i]
		return append(buf[:0], &r.DossierID, &r.Kind, &r.StepSeq, &r.StepName, &r.ValidFrom, r.ValidTo, &r.OverdueFrom, &r.Status,
			&r.HolderCode, &r.LeadAgencyCode, &r.AgencyCode, &r.ProcedureCode)
	}},
}

// Seed writes the data set described at SeedOptions, into a database that
// was not seeded before.
func (s *Store) Seed(ctx context.Context, o SeedOptions) (SeedResult, error) {
	if o.Months <= 0 {
		o.Months = 12
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Microsecond)
	if o.Logger == nil {
		o.Logger = s.log
	}
	// The generator allocates a lot of short-lived rows and keeps little:
	// collecting less often saves a fifth of its CPU for the database.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	res := SeedResult{}
	g := &seedGen{o: o, admin: domain.Actor{Sub: "seed", Roles: []domain.Role{domain.RoleAdmin}}}
	last := domain.DateOf(o.Now)
	first := last.AddMonths(-o.Months).AddDays(1)
	res.ReceivedFrom, res.ReceivedTo = first.Time(), o.Now
	g.catalogue(rand.New(rand.NewPCG(o.Seed, 0x6d6f74637561)), first.AddDays(-30).Time().UTC())
	res.Agencies, res.Procedures = len(g.agencies), len(g.procs)

	var exists int64
	if err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM agencies WHERE code = ?", g.agencies[0].Code).Scan(&exists).Error; err != nil {
		return res, translate(err, "agencies")
	}
	if exists > 0 {
		return res, fmt.Errorf("store: seed: agency %s exists: this database was seeded already", g.agencies[0].Code)
	}
	// Dossier codes of the seeded units cannot collide: no dossier has them yet.
	err := s.db.WithContext(ctx).Transaction(func(tx *gormDB) error {
		q := queries{db: tx, dialect: s.dialect}
		for _, a := range g.agencies {
			if err := q.SaveAgency(ctx, a); err != nil {
				return err
			}
		}
		for _, p := range g.procs {
			if err := q.SaveProcedure(ctx, p.p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	var ids seedIDs
	for _, t := range []struct {
		table string
		dst   *int64
	}{{"dossiers", &ids.dossier}, {"dossier_pauses", &ids.pause}, {"dossier_history", &ids.history}, {"dossier_handoffs", &ids.handoff}} {
		if err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM " + t.table).Scan(t.dst).Error; err != nil {
			return res, translate(err, t.table)
		}
	}

	// Receptions per date: working days carry most, weekends and days off
	// the online ones and Saturday mornings.
	national := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	var dates []domain.Date
	var counts []int
	var total float64
	for d := first; !last.Before(d); d = d.AddDays(1) {
		dates = append(dates, d)
		if national.IsWorkingDay(d) {
			total++
		} else {
			total += 0.12
		}
	}
	planned, acc := 0, 0.0
	for _, d := range dates {
		w := 1.0
		if !national.IsWorkingDay(d) {
			w = 0.12
		}
		acc += float64(o.Dossiers) * w / total
		n := int(math.Round(acc)) - planned
		planned += n
		counts = append(counts, n)
	}

	sink, err := s.newSeedSink(ctx)
	if err != nil {
		return res, err
	}
	start := time.Now()
	// Workers simulate days ahead of the writer, at most window days ahead;
	// the writer takes them in date order, so ids follow reception time.
	const window = 8
	workers := min(max(1, runtime.GOMAXPROCS(0)), 4)
	results := make([]chan *seedBatch, len(dates))
	for i := range results {
		results[i] = make(chan *seedBatch, 1)
	}
	slots := make(chan struct{}, window)
	for range window {
		slots <- struct{}{}
	}
	var next atomic.Int64
	var genNanos atomic.Int64
	stop := make(chan struct{})
	ws := make([]*seedWorker, workers)
	var wg sync.WaitGroup
	for k := range ws {
		ws[k] = g.worker()
		wg.Add(1)
		go func(w *seedWorker) {
			defer wg.Done()
			for {
				select {
				case <-slots:
				case <-stop:
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(dates) {
					return
				}
				t := time.Now()
				b := w.day(dates[i], counts[i])
				genNanos.Add(int64(time.Since(t)))
				results[i] <- b
			}
		}(ws[k])
	}
	fail := func(err error) (SeedResult, error) {
		close(stop)
		sink.abort()
		wg.Wait()
		return res, err
	}
	seqs := [][]any{}
	for i := range dates {
		var b *seedBatch
		select {
		case b = <-results[i]:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		b.offset(&ids)
		res.Dossiers += int64(len(b.dossiers))
		res.Steps += int64(len(b.steps))
		res.Pauses += int64(len(b.pauses))
		res.History += int64(len(b.history))
		res.Handoffs += int64(len(b.handoffs))
		res.OpenDossiers += len(b.open)
		res.Late += b.Late
		res.Extended += b.Extended
		res.Supplemented += b.Supplemented
		res.Rated += b.Rated
		res.Returned += b.Returned
		if len(res.Samples) < 5 {
			res.Samples = append(res.Samples, b.samples...)
		}
		for a, n := range b.seqs {
			seqs = append(seqs, []any{g.agencies[a].Code, b.day.Time().Format("060102"), n})
		}
		if err := sink.write(ctx, b); err != nil {
			return fail(err)
		}
		slots <- struct{}{}
		if i%30 == 29 {
			o.Logger.Info("seed", "through", dates[i].String(), "dossiers", res.Dossiers, "took", time.Since(start).Round(time.Second).String())
		}
	}
	close(stop)
	wg.Wait()
	if err := sink.close(ctx); err != nil {
		return res, err
	}
	res.Generate = time.Duration(genNanos.Load())
	res.Load = time.Since(start)

	// Roll-ups, sequences, then the indexes back and fresh statistics.
	t := time.Now()
	sums := ws[0].sums
	for _, w := range ws[1:] {
		for i := range sums {
			for k, c := range w.sums[i] {
				if have := sums[i][k]; have != nil {
					have.Add(*c)
				} else {
					sums[i][k] = c
				}
			}
		}
	}
	var jobs []seedJob
	for i, t := range rollupTables {
		rows := make([]seedRollupRow, 0, len(sums[i]))
		for k, c := range sums[i] {
			if *c != (domain.StatCounts{}) {
				sp := g.procs[k&0xffffffff]
				rows = append(rows, seedRollupRow{key: int(k >> 32), agency: sp.p.AgencyCode, procedure: sp.p.Code, c: *c})
			}
		}
		// In key order, so a day's or a month's rows lie together on disk.
		slices.SortFunc(rows, func(a, b seedRollupRow) int {
			if a.key != b.key {
				return a.key - b.key
			}
			return strings.Compare(a.procedure, b.procedure)
		})
		switch i {
		case 0:
			res.DailyRollups = len(rows)
		case 1:
			res.MonthlyRollups = len(rows)
		}
		cols := append([]string{t.key, "agency_code", "procedure_code"}, statColumns...)
		jobs = append(jobs, seedJob{name: "copy " + t.table, run: func(ctx context.Context, _ *sql.Conn) error {
			return s.bulkInsertSeq(ctx, t.table, cols, func(yield func([]any) bool) {
				buf := make([]any, 0, len(cols))
				for i := range rows {
					r := &rows[i]
					buf = append(buf[:0], &r.key, &r.agency, &r.procedure)
					for j := range r.c {
						buf = append(buf, &r.c[j])
					}
					if !yield(buf) {
						return
					}
				}
			})
		}})
	}
	late := ws[0].late
	for _, w := range ws[1:] {
		for i := range late {
			for k, c := range w.late[i] {
				if have := late[i][k]; have != nil {
					have.add(*c)
				} else {
					late[i][k] = c
				}
			}
		}
	}
	for i, t := range []struct{ table, key string }{{"lateness_daily", "day"}, {"lateness_monthly", "month"}} {
		rows := make([][]any, 0, len(late[i]))
		for k, c := range late[i] {
			rows = append(rows, []any{k.Key, k.Unit, k.Sub, c.Name, c.Steps, c.Early, c.OnTime, c.Late, c.LateMinutes, c.DossiersLate})
		}
		cols := []string{t.key, "unit_code", "actor", "actor_name", "steps", "early", "on_time", "late", "late_minutes", "dossiers_late"}
		jobs = append(jobs, seedJob{name: "copy " + t.table, run: func(ctx context.Context, _ *sql.Conn) error {
			return s.bulkInsert(ctx, t.table, cols, rows)
		}})
	}
	jobs = append(jobs, seedJob{name: "copy dossier_sequences", run: func(ctx context.Context, _ *sql.Conn) error {
		return s.bulkInsert(ctx, "dossier_sequences", []string{"agency_code", "day", "last_seq"}, seqs)
	}})
	if err := sink.finish(ctx, jobs); err != nil {
		return res, err
	}
	res.Index = time.Since(t)
	return res, nil
}

// seedRollupRow is one roll-up row to write.
type seedRollupRow struct {
	key               int
	agency, procedure string
	c                 domain.StatCounts
}

// bulkInsert writes rows into a table: COPY on PostgreSQL, multi-row INSERTs
// on SQLite.
func (s *Store) bulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		return s.copyRows(ctx, table, cols, slices.Values(rows))
	}
	return s.db.WithContext(ctx).Transaction(func(g *gormDB) error {
		return insertRows(ctx, g, table, cols, rows)
	})
}

// bulkInsertSeq writes the rows a sequence yields (each a slice the
// sequence may reuse, of pointers into storage that stays put).
func (s *Store) bulkInsertSeq(ctx context.Context, table string, cols []string, rows iter.Seq[[]any]) error {
	if s.dialect == Postgres {
		return s.copyRows(ctx, table, cols, rows)
	}
	var all [][]any
	for r := range rows {
		all = append(all, slices.Clone(r))
	}
	return s.bulkInsert(ctx, table, cols, all)
}

// seedPayMethod picks how a payment is received: online for about 60%.
func seedPayMethod(rng *rand.Rand) domain.Delivery {
	if rng.Float64() < 0.6 {
		return domain.Delivery(domain.PaymentOnline)
	}
	return domain.Delivery(domain.PaymentCounter)
}
