package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with control characters, bidirectional controls and
// invalid UTF-8 replaced by visible escapes (see clean), for printing
// capture-derived strings such as file names and error messages on a
// terminal.
func Printable(s string) string { return clean(s) }

// clean makes s safe to print on a terminal: control characters (C0, DEL,
// C1, including ESC and newlines), Unicode bidirectional controls and
// invalid UTF-8 bytes are replaced by visible escapes such as \x1b or
// \u202e. Capture-derived strings (file names, warnings) go through it
// before the text renderer prints them.
func clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isClean(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))) {
			return false
		}
	}
	return true
}

// cleanLines is clean applied to each line of s, keeping the line breaks;
// it returns the cleaned lines. A trailing newline adds no empty line.
func cleanLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(strings.TrimSuffix(l, "\r"))
	}
	return lines
}
