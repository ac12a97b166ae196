package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/motcua/motcua/domain"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Facts is what a message may say: codes, names, dates and reasons, never
// the PIN, the ID number or the address.
type Facts struct {
	Code      string
	Name      string // the applicant's name (e-mail greeting)
	Procedure string // the procedure's name
	Agency    string // the receiving unit's name
	Delivery  string // counter, postal or online
	Due       string // the appointment, dd/mm/yyyy (SMS)
	DueAt     string // the appointment, hh:mm ngày dd/mm/yyyy (e-mail)
	OldDue    string
	OldDueAt  string
	NewDue    string
	NewDueAt  string
	Reason    string
	Items     string   // the missing documents, joined (SMS)
	ItemList  []string // the missing documents (e-mail)
	LookupURL string   // the look-up page, without the PIN
}

// Message is a rendered message: Subject only for e-mail.
type Message struct {
	Subject string
	Text    string
}

// Templates are the parsed message templates, one per event and channel.
type Templates struct {
	t map[string]*template.Template
}

// LoadTemplates parses the embedded templates and checks that every
// notified event has one per channel.
func LoadTemplates() (*Templates, error) {
	ts := &Templates{t: map[string]*template.Template{}}
	for _, ev := range domain.NotifyEvents {
		for _, ch := range domain.NotifyChannels {
			name := string(ev) + "." + string(ch) + ".tmpl"
			b, err := templateFS.ReadFile("templates/" + name)
			if err != nil {
				return nil, fmt.Errorf("notify: template %s: %w", name, err)
			}
			t, err := template.New(name).Option("missingkey=error").Parse(string(b))
			if err != nil {
				return nil, fmt.Errorf("notify: template %s: %w", name, err)
			}
			ts.t[name] = t
		}
	}
	return ts, nil
}

func (ts *Templates) exec(ev domain.EventType, ch domain.NotifyChannel, f Facts) (string, error) {
	t := ts.t[string(ev)+"."+string(ch)+".tmpl"]
	if t == nil {
		return "", fmt.Errorf("notify: no %s template for %s", ch, ev)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

// errTooLong is an SMS that cannot be brought within one message.
var errTooLong = errors.New("notify: the SMS does not fit in 160 GSM-7 characters")

// Render renders the message of an event for a channel. An SMS is folded
// to GSM-7 without diacritics and brought within one message by shortening
// the longest free-text fact (procedure name, reason, items, unit name)
// until it fits; the code and the dates are never cut. An e-mail keeps
// the diacritics; its subject starts with the dossier code.
func (ts *Templates) Render(ev domain.EventType, ch domain.NotifyChannel, f Facts) (Message, error) {
	if ch == domain.NotifyEmail {
		out, err := ts.exec(ev, ch, f)
		if err != nil {
			return Message{}, err
		}
		head, body, _ := strings.Cut(out, "\n")
		subject, ok := strings.CutPrefix(head, "Subject: ")
		if !ok || !strings.HasPrefix(subject, f.Code) {
			return Message{}, fmt.Errorf("notify: e-mail template for %s: the first line must be \"Subject: \" and the dossier code", ev)
		}
		return Message{Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n")}, nil
	}
	g := f
	for _, p := range []*string{&g.Code, &g.Procedure, &g.Agency, &g.Reason, &g.Items, &g.Due, &g.OldDue, &g.NewDue, &g.LookupURL} {
		*p = Fold(*p)
	}
	g.Name, g.ItemList, g.DueAt, g.OldDueAt, g.NewDueAt = "", nil, "", "", ""
	shrinkable := []*string{&g.Procedure, &g.Reason, &g.Items, &g.Agency}
	for range 32 {
		out, err := ts.exec(ev, ch, g)
		if err != nil {
			return Message{}, err
		}
		text := strings.ReplaceAll(Fold(out), "....", "...")
		n, ok := domain.GSM7Septets(text)
		if !ok {
			return Message{}, fmt.Errorf("notify: SMS for %s is not GSM-7", ev)
		}
		if n <= domain.SMSLimit {
			return Message{Text: text}, nil
		}
		var longest *string
		for _, p := range shrinkable {
			if longest == nil || utf8.RuneCountInString(*p) > utf8.RuneCountInString(*longest) {
				longest = p
			}
		}
		if *longest == "" {
			break
		}
		// Cut the longest fact by the overflow, and never by less than a
		// few characters, so the loop ends.
		*longest = shorten(*longest, utf8.RuneCountInString(*longest)-max(n-domain.SMSLimit, 4))
	}
	return Message{}, errTooLong
}

// vietnam is Asia/Ho_Chi_Minh, where appointments are read.
var vietnam = domain.Vietnam()

func day(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(vietnam).Format("02/01/2006")
}

func dayTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(vietnam).Format("15:04 ngày 02/01/2006")
}

// FactsOf gathers what the message about event ev (at occurred) says about
// dossier d: the procedure's and the receiving unit's names are given, the
// rest read from the dossier.
func FactsOf(d *domain.Dossier, ev domain.EventType, occurred time.Time, procedure, agency, publicURL string) Facts {
	f := Facts{Code: d.Code, Name: d.Applicant.Name, Procedure: procedure, Agency: agency, Delivery: string(d.Delivery)}
	if f.Procedure == "" {
		f.Procedure = d.ProcedureCode
	}
	if f.Agency == "" {
		f.Agency = "Bộ phận Một cửa"
	}
	due := d.OriginalDue
	if due == nil {
		due = d.Clock.DueAt
	}
	f.Due, f.DueAt = day(due), dayTime(due)
	if publicURL != "" {
		f.LookupURL = strings.TrimRight(publicURL, "/") + "/tra-cuu?ma=" + d.Code
	}
	switch ev {
	case domain.EventSupplementRequested:
		// The supplement request recorded at the event (the latest one
		// started no later than it).
		for i := len(d.Pauses) - 1; i >= 0; i-- {
			p := d.Pauses[i]
			if p.Kind == domain.PauseSupplement && !p.StartedAt.After(occurred) {
				f.Reason, f.ItemList = p.Reason, p.Items
				f.Items = strings.Join(p.Items, "; ")
				break
			}
		}
	case domain.EventExtended:
		if e := d.Extension; e != nil {
			f.Reason = e.Reason
			nd := e.NewDueAt
			f.NewDue, f.NewDueAt = day(&nd), dayTime(&nd)
		}
		f.OldDue, f.OldDueAt = day(d.Clock.DueAt), dayTime(d.Clock.DueAt)
	case domain.EventRefused, domain.EventStopped:
		action := map[domain.EventType]domain.HistoryAction{domain.EventRefused: domain.ActionRefuse.History(), domain.EventStopped: domain.ActionStop.History()}[ev]
		for i := len(d.History) - 1; i >= 0; i-- {
			if d.History[i].Action == action {
				// The reason, without the officer's own note after it.
				f.Reason, _, _ = strings.Cut(d.History[i].Note, " — ")
				break
			}
		}
	}
	if f.Reason == "" {
		f.Reason = "xem chi tiết tại Bộ phận Một cửa"
	}
	if f.Items == "" {
		f.Items = "xem chi tiết tại Bộ phận Một cửa"
	}
	return f
}
