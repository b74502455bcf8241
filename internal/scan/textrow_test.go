package scan

import (
	"bytes"
	"fmt"
	"testing"
)

// TestWriteRowMatchesFmt checks the text table's row against the fmt
// format it replaces, with short, long and non-ASCII cells.
func TestWriteRowMatchesFmt(t *testing.T) {
	cells := []string{"", "-", "healthy", "inconclusive", "unreadable-and-longer", "#123456789", "h\u00e9\u00e9", "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3088\u306d"}
	var buf bytes.Buffer
	tw := &textWriter{w: &buf}
	for _, a := range cells {
		for _, b := range cells {
			buf.Reset()
			tw.writeRow(a, b, b, a, a+b)
			want := fmt.Sprintf("%-12s %8s %10s %8s  %s\n", a, b, b, a, a+b)
			if buf.String() != want {
				t.Errorf("row %q, want %q", buf.String(), want)
			}
		}
	}
}
