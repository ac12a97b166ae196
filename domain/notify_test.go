package domain_test

import (
	"testing"

	"github.com/motcua/motcua/domain"
)

func TestNormalizeMobile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0912345678", "0912345678", true},
		{"+84 912 345 678", "0912345678", true},
		{"84912345678", "0912345678", true},
		{"091.234.5678", "0912345678", true},
		{"0312345678", "0312345678", true},
		{"0241234567", "", false},  // Hà Nội landline
		{"091234567", "", false},   // 9 digits
		{"09123456789", "", false}, // 11 digits
		{"+1 912 345 678", "", false},
		{"0912a45678", "", false},
		{"", "", false},
	} {
		got, ok := domain.NormalizeMobile(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"an.nguyen@example.vn", true},
		{"a+b@mail.gov.vn", true},
		{"an nguyen@example.vn", false},
		{"An <an@example.vn>", false},
		{"an@localhost", false},
		{"an@", false},
		{"@example.vn", false},
		{" an@example.vn", false},
		{"an@example.vn.", false},
	} {
		if got := domain.ValidEmail(tc.in); got != tc.ok {
			t.Errorf("ValidEmail(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ch       domain.NotifyChannel
		in, want string
	}{
		{domain.NotifySMS, "0912345678", "091****678"},
		{domain.NotifySMS, "+84912345678", "091****678"},
		{domain.NotifySMS, "garbage", "***"},
		{domain.NotifyEmail, "nguyenvana@example.vn", "n***@example.vn"},
		{domain.NotifyEmail, "x", "***"},
	} {
		if got := domain.Mask(tc.ch, tc.in); got != tc.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", tc.ch, tc.in, got, tc.want)
		}
	}
}

func TestCheckConsent(t *testing.T) {
	t.Parallel()
	both := domain.Applicant{Phone: "0912345678", Email: "an@example.vn"}
	for _, tc := range []struct {
		name   string
		asked  []string
		a      domain.Applicant
		want   string
		fields []string
	}{
		{"none", nil, both, "", nil},
		{"both", []string{"email", "sms"}, both, "sms,email", nil},
		{"email only", []string{"email"}, domain.Applicant{Email: "an@example.vn"}, "email", nil},
		{"unknown channel", []string{"zalo"}, both, "", []string{"notify[0]"}},
		{"twice", []string{"sms", "sms"}, both, "sms", []string{"notify[1]"}},
		{"sms without phone", []string{"sms"}, domain.Applicant{}, "sms", []string{"applicant.phone"}},
		{"sms with a landline", []string{"sms"}, domain.Applicant{Phone: "0241234567"}, "sms", []string{"applicant.phone"}},
		{"email without address", []string{"email"}, domain.Applicant{}, "email", []string{"applicant.email"}},
		{"email that does not parse", []string{"email"}, domain.Applicant{Email: "an at example"}, "email", []string{"applicant.email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f := domain.CheckConsent("notify", tc.asked, tc.a)
			if c.String() != tc.want {
				t.Errorf("consent %q, want %q", c.String(), tc.want)
			}
			var got []string
			for _, fe := range f {
				got = append(got, fe.Field)
			}
			if len(got) != len(tc.fields) || (len(got) > 0 && got[0] != tc.fields[0]) {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestGSM7(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		n  int
		ok bool
	}{
		{"Ho so 000.00.07.H29-261204-0001", 31, true},
		{"{x}", 5, true},
		{"đ", 0, false},
		{"Hồ sơ", 1, false},
		{"–", 0, false},
	} {
		n, ok := domain.GSM7Septets(tc.in)
		if n != tc.n || ok != tc.ok {
			t.Errorf("GSM7Septets(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
	long := make([]byte, 161)
	for i := range long {
		long[i] = 'a'
	}
	if domain.ValidSMS(string(long)) || !domain.ValidSMS(string(long[:160])) {
		t.Error("ValidSMS: the limit is 160 septets")
	}
}

func TestSetConsent(t *testing.T) {
	t.Parallel()
	d := &domain.Dossier{Status: domain.StatusReceived, Version: 3, Applicant: domain.Applicant{Phone: "0912345678"}}
	ch, err := d.SetConsent([]string{"sms"}, domain.Actor{Sub: "clerk-1"}, d.UpdatedAt)
	if err != nil || d.Version != 4 || !d.Notify.Has(domain.NotifySMS) || len(ch.History) != 1 || ch.History[0].Action != domain.ActionSetNotify {
		t.Fatalf("SetConsent: %v, version %d, %v, %+v", err, d.Version, d.Notify, ch)
	}
	if _, err := d.SetConsent([]string{"email"}, domain.Actor{}, d.UpdatedAt); domain.KindOf(err) != domain.Invalid || d.Version != 4 {
		t.Fatalf("email without an address: %v, version %d", err, d.Version)
	}
}
