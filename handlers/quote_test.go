package handlers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestQuoteNeverSplitsACharacter: an unknown action is echoed cut at 40
// bytes; a cut inside a Vietnamese letter would put invalid UTF-8 into the
// problem document.
func TestQuoteNeverSplitsACharacter(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", 39) + "ệ" + "b",
		strings.Repeat("ư", 30),
		"chuyển",
	} {
		got := quote(in)
		if !utf8.ValidString(got) {
			t.Errorf("quote(%q) = %q: not valid UTF-8", in, got)
		}
		if len(in) > 40 && !strings.HasSuffix(got, "…\"") {
			t.Errorf("quote(%q) = %q: a long value must end with an ellipsis", in, got)
		}
	}
}
