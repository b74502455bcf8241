package report

import (
	"bytes"
	"testing"
)

// TestSessionNotesGolden renders the notes under the session table, in
// text (with and without colour) and Markdown, for a session with every
// kind of note: how its transport was recognised (a guess), a stall, a
// reconnection, the time to its outcome, and more retransmit requests,
// in every state, than the reports list.
func TestSessionNotesGolden(t *testing.T) {
	r := fullReport()
	s := &r.Sessions[0]
	s.TransportSure = false
	s.TransportWhy = "Cisco cTCP trailer on 3 of 3 <segments>"
	for len(s.RetransmitRequests) < maxTextRequests+2 {
		s.RetransmitRequests = append(s.RetransmitRequests, s.RetransmitRequests[len(s.RetransmitRequests)%3])
	}
	r.Listing = Listing{Shown: []int{0, 1}}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"notes.txt.golden", func(b *bytes.Buffer) error { return WriteText(b, r, TextOptions{}) }},
		{"notes-color.txt.golden", func(b *bytes.Buffer) error { return WriteText(b, r, TextOptions{Color: true}) }},
		{"notes.md.golden", func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, b.Bytes())
	}
}
