package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/motcua/motcua/domain"
)

// punctuation maps typographic characters outside GSM-7 to plain ones.
var punctuation = map[rune]string{
	'‘': "'", '’': "'", '“': `"`, '”': `"`, '–': "-", '—': "-", '…': "...", '«': `"`, '»': `"`,
	'\u00a0': " ", '\t': " ", '•': "-", '·': ".", '`': "'",
}

// Fold writes Vietnamese text without diacritics, in the GSM-7 alphabet:
// marks removed (NFD, then the combining marks dropped), đ and Đ written d
// and D (NFD does not split them), typographic punctuation made plain, and
// anything else outside GSM-7 dropped; runs of spaces become one.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		var out string
		switch r {
		case 'đ':
			out = "d"
		case 'Đ':
			out = "D"
		default:
			if p, ok := punctuation[r]; ok {
				out = p
			} else if r == '\n' || r == '\r' {
				out = " "
			} else if unicode.IsSpace(r) {
				out = " "
			} else if _, ok := domain.GSM7Septets(string(r)); ok && r < 0x80 {
				out = string(r)
			}
		}
		for _, c := range out {
			if c == ' ' {
				if space {
					continue
				}
				space = true
			} else {
				space = false
			}
			b.WriteRune(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// shorten cuts s to at most n runes at a word boundary, ending in "...";
// "" when n is too small for a useful word.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 8 {
		return ""
	}
	r := []rune(s)[:n-3]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "..."
}
