package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/motcua/motcua/domain"
)

// sourceMessage is a string literal of the code base that reaches people in
// a problem document: the message of an error, a field error or an HTTP error.
type sourceMessage struct {
	text, where string
}

// messagesInSource finds every message literal the packages that make errors
// write: the format of domain.Invalidf, NotFoundf, Forbiddenf, Conflictf,
// Fields.Add and fieldError, echo.NewHTTPError's message, and literal Detail
// and Message fields.
func messagesInSource(t *testing.T) (msgs []sourceMessage, codes map[string]string) {
	t.Helper()
	codes = map[string]string{}
	for _, dir := range []string{"../domain", "../service", "../store", "../handlers", "../web", "../auth"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fs := token.NewFileSet()
			f, err := parser.ParseFile(fs, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			lit := func(e ast.Expr) (string, bool) {
				b, ok := e.(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(b.Value)
				return s, err == nil
			}
			where := func(n ast.Node) string { return filepath.Base(path) + ":" + strconv.Itoa(fs.Position(n.Pos()).Line) }
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					var name string
					switch fn := x.Fun.(type) {
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					case *ast.Ident:
						name = fn.Name
					}
					idx := map[string]int{"Invalidf": 0, "NotFoundf": 0, "Forbiddenf": 0, "Conflictf": 1, "Add": 1, "fieldError": 1, "queryError": 1, "QueryError": 1, "NewHTTPError": 1}
					i, ok := idx[name]
					if !ok || len(x.Args) <= i {
						return true
					}
					if name == "Conflictf" {
						if c, ok := lit(x.Args[0]); ok {
							codes[c] = where(x)
						}
					}
					if name == "Add" {
						if first, ok := lit(x.Args[0]); ok && strings.HasPrefix(first, "_") {
							return true // url.Values of the SQLite DSN
						}
					}
					if s, ok := lit(x.Args[i]); ok {
						msgs = append(msgs, sourceMessage{s, where(x)})
					}
				case *ast.KeyValueExpr:
					id, ok := x.Key.(*ast.Ident)
					if !ok {
						return true
					}
					s, ok := lit(x.Value)
					if !ok {
						return true
					}
					switch id.Name {
					case "Detail", "Message":
						msgs = append(msgs, sourceMessage{s, where(x)})
					case "Code":
						codes[s] = where(x)
					}
				}
				return true
			})
		}
	}
	return msgs, codes
}

// vietnamese tells a message already written in Vietnamese by its letters.
func vietnamese(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*[sdqvf]`)

// Every message a person can read has its Vietnamese in the catalogue, with
// as many verbs as the English.
func TestEveryMessageHasVietnamese(t *testing.T) {
	msgs, _ := messagesInSource(t)
	if len(msgs) < 100 {
		t.Fatalf("found only %d messages: the scan is broken", len(msgs))
	}
	var missing []string
	for _, m := range msgs {
		if vietnamese(m.text) {
			continue
		}
		if _, ok := viMessages[m.text]; !ok {
			missing = append(missing, m.where+": "+strconv.Quote(m.text))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d messages lack Vietnamese in handlers/messages_vi.go:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for en, v := range viMessages {
		if a, b := len(verbRE.FindAllString(en, -1)), len(verbRE.FindAllString(v, -1)); a != b {
			t.Errorf("%q has %d verbs, its Vietnamese %q has %d", en, a, v, b)
		}
	}
}

func TestViTranslatesFormattedMessages(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"no agency has the code 000.00.07.H29", "không có cơ quan nào mang mã 000.00.07.H29"},
		{"the dossier is at version 3, you read version 2", "hồ sơ đang ở phiên bản 3, bạn đã đọc phiên bản 2; hãy tải lại"},
		{"mon: \"25:00-26:00\" is not a period HH:MM-HH:MM within 00:00-24:00", "mon: \"25:00-26:00\" không phải khoảng giờ HH:MM-HH:MM trong 00:00-24:00"},
		{"no dossier", "không có hồ sơ"},
		{"no day recorded on 2026-03-16", "không có ngày nào được ghi cho 2026-03-16"},
		{"malformed JSON: unknown field \"x\"", "JSON sai định dạng: không có trường \"x\""},
		{"something new and English", "something new and English"},
	} {
		if got := vi(c.in); got != c.want {
			t.Errorf("vi(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Every error code the code base writes is a named constant with a title,
// and README lists each once.
func TestErrorCodesHaveTitlesAndREADME(t *testing.T) {
	_, codes := messagesInSource(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for c, where := range codes {
		if _, ok := domain.Titles[c]; !ok && !strings.Contains(c, ".") && c != "agencycode" && c != "procedurecode" {
			t.Errorf("%s: error code %q has no constant and title in domain/errors.go", where, c)
		}
	}
	for c, title := range domain.Titles {
		if title == "" || !vietnamese(title) {
			t.Errorf("code %q: title %q is not Vietnamese", c, title)
		}
		if n := strings.Count(string(readme), "| `"+c+"` |"); n != 1 {
			t.Errorf("README lists error code %q %d times, want once", c, n)
		}
		if p := problemFor(&domain.Error{Code: c}); p.Code != c {
			t.Errorf("code %q comes out as %q", c, p.Code)
		}
	}
}

// The text and time checks return their messages rather than format them,
// so the source scan above does not see them: each has its Vietnamese too.
func TestInputCheckMessagesHaveVietnamese(t *testing.T) {
	for _, in := range []string{"a\x00b", "a\u202eb", "a\xffb"} {
		msg := domain.TextProblem(in)
		if msg == "" {
			t.Fatalf("TextProblem(%q) found nothing", in)
		}
		if got := vi(msg); !vietnamese(got) {
			t.Errorf("%q has no Vietnamese (got %q)", msg, got)
		}
	}
	if got := vi(domain.TimeBoundsMessage); !vietnamese(got) {
		t.Errorf("%q has no Vietnamese (got %q)", domain.TimeBoundsMessage, got)
	}
}
