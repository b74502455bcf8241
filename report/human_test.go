package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:           "0 ms",
		0:                      "0 ms",
		999 * time.Microsecond: "0 ms",
		350*time.Millisecond + 900*time.Microsecond: "350 ms",
		999*time.Millisecond + 999*time.Microsecond: "999 ms",
		time.Second:                                "1.0 s",
		8400 * time.Millisecond:                    "8.4 s",
		44693 * time.Millisecond:                   "44.7 s",
		59949 * time.Millisecond:                   "59.9 s",
		59960 * time.Millisecond:                   "1 min",
		time.Minute:                                "1 min",
		125 * time.Second:                          "2 min 5 s",
		87851 * time.Millisecond:                   "1 min 28 s",
		time.Hour + 3*time.Minute + 20*time.Second: "1 h 3 min 20 s",
		2 * time.Hour:                              "2 h",
		2*time.Hour + 4*time.Second:                "2 h 4 s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDupAckExtent(t *testing.T) {
	for _, tt := range []struct {
		count       int
		first, last uint64
		seconds     float64
		want        string
	}{
		{64, 2055, 2190, 8.4, "64 duplicate ACKs, frames 2055-2190 over 8.4 s"},
		{2, 10, 11, 0.0123, "2 duplicate ACKs, frames 10-11 over 12 ms"},
		{1, 7, 7, 0, "1 duplicate ACK, frame 7"},
		{40, 7, 0, 3, "40 duplicate ACKs from frame 7"},
		{0, 0, 0, 0, "0 duplicate ACKs"},
	} {
		if got := dupAckExtent(tt.count, tt.first, tt.last, tt.seconds); got != tt.want {
			t.Errorf("dupAckExtent(%d, %d, %d, %v) = %q, want %q", tt.count, tt.first, tt.last, tt.seconds, got, tt.want)
		}
	}
}

// TestLongRunExtent: a run of 64 duplicate ACKs of which analyze lists the
// first 32 is shown with its whole extent (first and last frame, count,
// duration) in every human-oriented format: in the notes, the evidence
// table and the graph's tooltip, never as the listed frames only.
func TestLongRunExtent(t *testing.T) {
	c, r := affectedCase()
	run := r.Sessions[0].Requests[1].Run
	run.Count, run.Frames, run.LastFrame = 64, nil, 2190
	for i := range analyze.MaxRunFrames {
		run.Frames = append(run.Frames, uint64(2055+i))
	}
	run.FirstTime, run.LastTime = ms(20000), ms(28400)
	rep := BuildWith(c, r, testTool, Extras{Series: []analyze.TimeSeq{syntheticSeries(0, ms(0), ms(95000), 50)}})
	var q *RetransmitRequest
	for i := range rep.Sessions[0].RetransmitRequests {
		if rq := &rep.Sessions[0].RetransmitRequests[i]; rq.DupAcks == 64 {
			q = rq
		}
	}
	if q == nil || q.LastFrame != 2190 || q.Duration != 8.4 {
		t.Fatalf("request %+v, want LastFrame 2190 and Duration 8.4", q)
	}
	const extent = "64 duplicate ACKs, frames 2055-2190 over 8.4 s"
	text, md, html := renderAll(t, rep)
	for name, out := range map[string][]byte{"text": text, "markdown": md, "html": html} {
		if !bytes.Contains(out, []byte(extent)) {
			t.Errorf("%s report lacks %q", name, extent)
		}
		if bytes.Contains(out, []byte("2055-2086")) || bytes.Contains(out, []byte("first 32")) {
			t.Errorf("%s report shows the listed frames as the run's extent", name)
		}
	}
	// The evidence lists the run's last duplicate ACK, not the last listed.
	var last bool
	for _, e := range rep.Evidence[0].Rows {
		switch e.Frame {
		case 2190:
			last = strings.Contains(e.What, "dup ACK #64") && e.HasTime
		case 2086:
			t.Errorf("evidence row for the last listed frame: %+v", e)
		}
	}
	if !last {
		t.Errorf("no evidence row for dup ACK #64 at frame 2190: %+v", rep.Evidence[0].Rows)
	}
}

func TestVerdictLine(t *testing.T) {
	c, r := emptyCase()
	rep := Build(c, r, testTool)
	if got, want := verdictLine(rep), "Verdict for empty.pcap: NO cTCP - no cTCP session found"; got != want {
		t.Errorf("verdictLine = %q, want %q", got, want)
	}
	c.Path = "-"
	rep = Build(c, r, testTool)
	if got, want := newView(rep).Heading.String(), "ctcpdiag report: standard input"; got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	text, md, html := renderAll(t, rep)
	for name, out := range map[string][]byte{"text": text, "markdown": md, "html": html} {
		if !bytes.Contains(out, []byte("Verdict for standard input: NO cTCP")) {
			t.Errorf("%s report lacks the verdict line", name)
		}
	}
}

// TestNotesSayEachFactOnce: on every sample, no line of the session notes
// repeats what a finding about the same session says, and no note tells
// why a request was judged when a finding does.
func TestNotesSayEachFactOnce(t *testing.T) {
	for _, path := range sampleFiles(t) {
		base := filepath.Base(path)
		rep := buildSample(t, path, "samples/"+base)
		notes, _ := sessionNotes(rep, shownSessions(rep))
		for _, n := range notes {
			s := sessionByID(rep, n.ID)
			for _, f := range rep.Findings {
				if f.Session == nil || *f.Session != n.ID {
					continue
				}
				for _, fact := range n.Facts {
					if strings.Contains(f.Summary, fact) {
						t.Errorf("%s: session %d: the note %q repeats finding %s", base, n.ID, fact, f.ID)
					}
				}
				for _, q := range n.Requests {
					why := strings.TrimSuffix(strings.TrimPrefix(q.After.String(), "("), ")")
					if len(q.After) == 1 && strings.Contains(f.Summary, why) {
						t.Errorf("%s: session %d: the request note's why %q repeats finding %s", base, n.ID, why, f.ID)
					}
				}
				if f.ID == detect.OneWayStall.Name && s.Stall != nil {
					for _, fact := range n.Facts {
						if strings.Contains(fact, "sent no data") {
							t.Errorf("%s: session %d: stall said in a note and in finding %s", base, n.ID, f.ID)
						}
					}
				}
			}
		}
	}
}

func sessionByID(rep *Report, id int) *Session {
	for i := range rep.Sessions {
		if rep.Sessions[i].ID == id {
			return &rep.Sessions[i]
		}
	}
	return nil
}
