package domain

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// NotifyChannel is a means by which the one-stop unit tells the applicant
// about their dossier (docs: README, Notifications).
type NotifyChannel string

// Notification channels an applicant may consent to.
const (
	NotifySMS   NotifyChannel = "sms"
	NotifyEmail NotifyChannel = "email"
)

// NotifyChannels lists the channels in their fixed order.
var NotifyChannels = []NotifyChannel{NotifySMS, NotifyEmail}

// Consent is the set of channels the applicant agreed to be told by.
// Consent is per channel and explicit (Decree 13/2023/ND-CP on personal data
// protection, art. 11; Law 91/2025/QH15): none unless asked for.
type Consent []NotifyChannel

// Has reports whether the applicant consented to the channel.
func (c Consent) Has(ch NotifyChannel) bool {
	for _, x := range c {
		if x == ch {
			return true
		}
	}
	return false
}

// String is the stored form: the channels comma-separated in fixed order.
func (c Consent) String() string {
	var parts []string
	for _, ch := range NotifyChannels {
		if c.Has(ch) {
			parts = append(parts, string(ch))
		}
	}
	return strings.Join(parts, ",")
}

// ParseConsent reads the stored form back; unknown names are dropped.
func ParseConsent(s string) Consent {
	var out Consent
	for _, ch := range NotifyChannels {
		for _, p := range strings.Split(s, ",") {
			if p == string(ch) {
				out = append(out, ch)
				break
			}
		}
	}
	return out
}

// CheckConsent validates the channels asked for against the applicant's
// contacts: each must be a known channel, given once, and come with its
// contact (a Vietnamese mobile number for sms, an e-mail address for email).
// The field errors name field (e.g. "notify").
func CheckConsent(field string, asked []string, a Applicant) (Consent, Fields) {
	var f Fields
	var c Consent
	for i, s := range asked {
		ch := NotifyChannel(s)
		switch {
		case ch != NotifySMS && ch != NotifyEmail:
			f.Add(field+"["+strconv.Itoa(i)+"]", "must be sms or email")
			continue
		case c.Has(ch):
			f.Add(field+"["+strconv.Itoa(i)+"]", "%s is given twice", s)
			continue
		}
		c = append(c, ch)
	}
	if c.Has(NotifySMS) {
		if strings.TrimSpace(a.Phone) == "" {
			f.Add("applicant.phone", "is required to be told by SMS")
		} else if _, ok := NormalizeMobile(a.Phone); !ok {
			f.Add("applicant.phone", "is not a Vietnamese mobile number (10 digits such as 0912345678, or +84...)")
		}
	}
	if c.Has(NotifyEmail) {
		if strings.TrimSpace(a.Email) == "" {
			f.Add("applicant.email", "is required to be told by e-mail")
		} else if !ValidEmail(a.Email) {
			f.Add("applicant.email", "is not an e-mail address")
		}
	}
	return ParseConsent(c.String()), f
}

// mobilePrefixes are the second digits of Vietnamese mobile numbers after the
// 2018 renumbering (Circular 22/2014/TT-BTTTT as amended: 03x, 05x, 07x, 08x,
// 09x).
const mobilePrefixes = "35789"

// NormalizeMobile reads a Vietnamese mobile number written as 0912345678,
// 84912345678 or +84 912 345 678 (spaces, dots and dashes ignored) and
// returns it as 0912345678.
func NormalizeMobile(s string) (string, bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-':
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "84") && len(d) == 11 {
		d = "0" + d[2:]
	}
	if strings.HasPrefix(strings.TrimSpace(s), "+") && !strings.HasPrefix(strings.TrimSpace(s), "+84") {
		return "", false
	}
	if len(d) != 10 || d[0] != '0' || !strings.ContainsRune(mobilePrefixes, rune(d[1])) {
		return "", false
	}
	return d, true
}

// ValidEmail reports whether s is one plain address (user@domain.tld), with
// no display name.
func ValidEmail(s string) bool {
	if len(s) > 200 || strings.TrimSpace(s) != s {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	host := s[at+1:]
	return at > 0 && strings.Contains(host, ".") && !strings.HasPrefix(host, ".") && !strings.HasSuffix(host, ".")
}

// MaskPhone keeps the first three and last three digits of a phone number
// (091****678); what is stored and shown about a recipient.
func MaskPhone(s string) string {
	d, ok := NormalizeMobile(s)
	if !ok {
		return "***"
	}
	return d[:3] + strings.Repeat("*", len(d)-6) + d[len(d)-3:]
}

// MaskEmail keeps the first letter of the mailbox and the domain
// (n***@example.com).
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return "***"
	}
	return s[:1] + "***" + s[at:]
}

// Mask masks a recipient of the channel.
func Mask(ch NotifyChannel, to string) string {
	if ch == NotifySMS {
		return MaskPhone(to)
	}
	return MaskEmail(to)
}

// NotifyEvents are the events the applicant is told about, each with what
// the message says (docs: README, Notifications).
var NotifyEvents = []EventType{EventReceived, EventSupplementRequested, EventExtended, EventRefused, EventStopped,
	EventProcessed, EventReturned}

// Notified reports whether the applicant is told about events of type t.
func (t EventType) Notified() bool {
	for _, e := range NotifyEvents {
		if e == t {
			return true
		}
	}
	return false
}

// NotificationStatus is where one notification stands.
type NotificationStatus string

// Notification statuses.
const (
	NotificationPending NotificationStatus = "pending"
	NotificationSent    NotificationStatus = "sent"
	NotificationFailed  NotificationStatus = "failed"
)

// Notification is one message to the applicant about one event on one
// channel, with the recipient masked.
type Notification struct {
	ID          int64
	EventID     string
	Channel     NotifyChannel
	DossierCode string
	Event       EventType
	To          string // masked
	Status      NotificationStatus
	Attempts    int
	LastError   string
	OccurredAt  time.Time // the event's time
	CreatedAt   time.Time
	NextAt      time.Time
	SentAt      *time.Time
}

// SMSLimit is the length of one SMS in GSM-7 septets.
const SMSLimit = 160

// gsm7Basic is the GSM 03.38 default alphabet; gsm7Ext the characters of its
// extension table, each sent as two septets.
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext   = "^{}\\[~]|€\f"
)

// GSM7Septets returns how many septets s takes in the GSM-7 alphabet, and
// false when a character is outside it.
func GSM7Septets(s string) (int, bool) {
	n := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			n++
		case strings.ContainsRune(gsm7Ext, r):
			n += 2
		default:
			return n, false
		}
	}
	return n, true
}

// ValidSMS reports whether s is one SMS: GSM-7 only, at most SMSLimit septets.
func ValidSMS(s string) bool {
	n, ok := GSM7Septets(s)
	return ok && n <= SMSLimit
}

// ActionSetNotify is the history action of a change of consent.
const ActionSetNotify = HistorySetNotify

// SetConsent records the channels the applicant now consents to (a clerk
// writes down what the applicant asked for), as a history line; the
// channels are checked against the applicant's contacts.
func (d *Dossier) SetConsent(asked []string, actor Actor, now time.Time) (Change, error) {
	c, f := CheckConsent("notify", asked, d.Applicant)
	if err := f.Err(); err != nil {
		return Change{}, err
	}
	note := c.String()
	if note == "" {
		note = "none"
	}
	d.Notify = c
	d.Version++
	d.UpdatedAt = now
	h := actor.Entry(now, HistorySetNotify, d.Status, d.Status)
	h.Note = "notify: " + note
	return Change{History: []HistoryEntry{h}}, nil
}
