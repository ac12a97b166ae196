package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/motcua/motcua/domain"
)

// Catalogue returns the agencies and procedures `motcua seed` generates
// (34 provinces and their communes), for tests that must hold for every
// name in the catalogue.
func Catalogue() ([]domain.Agency, []domain.Procedure) {
	g := &gen{}
	g.catalogue(rand.New(rand.NewPCG(1, 1)), time.Time{})
	procs := make([]domain.Procedure, 0, len(g.procs))
	for _, p := range g.procs {
		procs = append(procs, p.p)
	}
	return g.agencies, procs
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

// proc is a procedure with what the generator needs of it.
type proc struct {
	p         domain.Procedure
	idx       int
	receiving int // index into gen.agencies
	cal       *domain.Calendar
}

// catalogue builds the agencies and procedures.
func (g *gen) catalogue(rng *rand.Rand, created time.Time) {
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
				g.procs = append(g.procs, &proc{p: p, receiving: centre, cal: centreCal})
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
				g.procs = append(g.procs, &proc{p: p, receiving: commune, cal: defCal})
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
