// Package portaltest is a fake national portal speaking the sync's protocol
// on a loopback port, for tests and benchmarks: it signs in, takes records
// and progress entries, records every call, and can be told to misbehave.
package portaltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Call is one call the portal received.
type Call struct {
	Service    string
	IsUpdating string
	Session    string
	Code       string          // data[0].MaHoSo
	Data       json.RawMessage // data[0]
	Answered   int             // the error_code answered; -1 for no JSON answer
	At         time.Time
}

// Answer overrides the portal's reply to a call.
type Answer struct {
	Status   int           // HTTP status; 0 = 200
	Body     string        // raw body; "" = {"error_code": Code, "message": Message}
	Code     int           // error_code
	Message  string        // message
	Delay    time.Duration // before answering
	Redirect string        // a Location to redirect to (307)
	Hang     bool          // never answer (until the client gives up)
}

// Portal is the fake.
type Portal struct {
	Server   *httptest.Server
	Username string
	Password string
	Unit     string

	mu       sync.Mutex
	sessions map[string]bool
	n        int
	calls    []Call
	signIns  int
	delay    time.Duration
	// Behave, when set, may answer a call instead of the portal (nil: the
	// portal answers as usual).
	behave func(c Call) *Answer
	hangs  chan struct{}
}

// New starts a fake portal on a loopback port; Close stops it.
func New(username, password, unit string) *Portal {
	p := &Portal{Username: username, Password: password, Unit: unit, sessions: map[string]bool{}, hangs: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// URL is the portal's base URL.
func (p *Portal) URL() string { return p.Server.URL }

// Close stops the portal (releasing hanging calls).
func (p *Portal) Close() {
	p.mu.Lock()
	select {
	case <-p.hangs:
	default:
		close(p.hangs)
	}
	p.mu.Unlock()
	p.Server.CloseClientConnections()
	p.Server.Close()
}

// SetDelay makes every answer wait d (a slow portal).
func (p *Portal) SetDelay(d time.Duration) { p.mu.Lock(); p.delay = d; p.mu.Unlock() }

// Behave sets (or with nil clears) the misbehaviour.
func (p *Portal) Behave(fn func(c Call) *Answer) { p.mu.Lock(); p.behave = fn; p.mu.Unlock() }

// ExpireSessions makes every session given so far expired (error_code 401).
func (p *Portal) ExpireSessions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.sessions {
		p.sessions[k] = false
	}
}

// SignIns is how many sign-ins succeeded.
func (p *Portal) SignIns() int { p.mu.Lock(); defer p.mu.Unlock(); return p.signIns }

// Calls returns every integration call received, in order of arrival.
func (p *Portal) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

// Accepted returns the calls answered error_code 0 for one dossier (all
// dossiers when code is ""), in order.
func (p *Portal) Accepted(code string) []Call {
	var out []Call
	for _, c := range p.Calls() {
		if c.Answered == 0 && (code == "" || c.Code == code) {
			out = append(out, c)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Portal) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/auth":
		var in struct{ Username, Password string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in.Username != p.Username || in.Password != p.Password || r.Header.Get("dstcode") != p.Unit {
			writeJSON(w, 200, map[string]any{"error_code": 403, "message": "sai tài khoản"})
			return
		}
		p.mu.Lock()
		p.n++
		s := fmt.Sprintf("session-%d", p.n)
		p.sessions[s] = true
		p.signIns++
		p.mu.Unlock()
		writeJSON(w, 200, map[string]any{"error_code": 0, "session": s})
	case "/integration":
		p.integration(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *Portal) integration(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Session    string            `json:"session"`
		Madonvi    string            `json:"madonvi"`
		Service    string            `json:"service"`
		IsUpdating string            `json:"isUpdating"`
		Data       []json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Data) != 1 || in.Madonvi != p.Unit {
		writeJSON(w, 200, map[string]any{"error_code": 400, "message": "bad request"})
		return
	}
	var head struct{ MaHoSo string }
	_ = json.Unmarshal(in.Data[0], &head)
	c := Call{Service: in.Service, IsUpdating: in.IsUpdating, Session: in.Session, Code: head.MaHoSo, Data: in.Data[0], At: time.Now()}
	p.mu.Lock()
	delay, behave, hangs := p.delay, p.behave, p.hangs
	valid := p.sessions[in.Session]
	p.mu.Unlock()
	a := answerFor(c, valid, behave)
	if a.Delay == 0 {
		a.Delay = delay
	}
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-r.Context().Done():
		}
	}
	c.Answered = a.Code
	if a.raw() {
		c.Answered = -1 // no protocol answer
	}
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	a.write(w, r, hangs)
}

// answerFor is what the portal answers a call: behave's answer, else
// success for a valid session and a known service.
func answerFor(c Call, valid bool, behave func(Call) *Answer) *Answer {
	if behave != nil {
		if a := behave(c); a != nil {
			return a
		}
	}
	switch {
	case !valid:
		return &Answer{Code: 401, Message: "phiên làm việc hết hạn"}
	case c.Service != "DongBoHoSoMC" && c.Service != "CapNhatTienDoHoSoMC":
		return &Answer{Code: 400, Message: "service không hợp lệ"}
	}
	return &Answer{Message: "thành công"}
}

// raw reports whether the answer is not the protocol's JSON (a hang, a
// redirect, a page, an HTTP error).
func (a *Answer) raw() bool {
	return a.Body != "" || a.Hang || a.Redirect != "" || (a.Status != 0 && a.Status != 200)
}

// write sends the answer; a hang lasts until the request ends or hangs is
// closed.
func (a *Answer) write(w http.ResponseWriter, r *http.Request, hangs <-chan struct{}) {
	switch {
	case a.Hang:
		select {
		case <-r.Context().Done():
		case <-hangs:
		}
		return
	case a.Redirect != "":
		w.Header().Set("Location", a.Redirect)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	case a.Body != "":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(max(a.Status, 200))
		_, _ = w.Write([]byte(a.Body))
		return
	}
	writeJSON(w, max(a.Status, 200), map[string]any{"error_code": a.Code, "message": a.Message})
}
