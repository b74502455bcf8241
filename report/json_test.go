package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// stdJSON is the reference AppendJSON is held to: encoding/json's Encoder
// on rep, as WriteJSON used it before it wrote the fields itself.
func stdJSON(rep *Report, opts JSONOptions) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if !opts.Compact {
		enc.SetIndent("", "  ")
	}
	err := enc.Encode(rep)
	return buf.Bytes(), err
}

// checkJSON fails t unless AppendJSON and WriteJSON give stdJSON's bytes,
// compact and indented.
func checkJSON(t *testing.T, rep *Report) {
	t.Helper()
	for _, opts := range []JSONOptions{{Compact: true}, {}} {
		want, wantErr := stdJSON(rep, opts)
		prefix := []byte("prefix")
		got, err := AppendJSON(prefix, rep, opts)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("compact %v: error %v, encoding/json's %v", opts.Compact, err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Errorf("compact %v: error %q, encoding/json's %q", opts.Compact, err, wantErr)
			}
			if string(got) != "prefix" {
				t.Errorf("compact %v: AppendJSON changed b on error: %q", opts.Compact, got)
			}
			var w bytes.Buffer
			if WriteJSON(&w, rep, opts) == nil || w.Len() > 0 {
				t.Errorf("compact %v: WriteJSON wrote %d bytes, err nil or not", opts.Compact, w.Len())
			}
			continue
		}
		if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("compact %v: AppendJSON differs from encoding/json:\n got %s\nwant %s", opts.Compact, got, want)
		}
		var w bytes.Buffer
		if err := WriteJSON(&w, rep, opts); err != nil || !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("compact %v: WriteJSON differs from encoding/json (err %v)", opts.Compact, err)
		}
	}
}

// TestAppendJSONMatchesEncodingJSON holds the hand-written encoder to
// encoding/json's output on the report of every committed sample and
// public capture.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, path := range sampleFiles(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			checkJSON(t, buildSample(t, path, "samples/"+base))
		})
	}
	if _, err := testcaps.Locate(t); err != nil {
		t.Logf("public captures not checked: %v", err)
		return
	}
	for _, e := range testcaps.Manifest(t) {
		t.Run(e.Name, func(t *testing.T) {
			f, err := os.Open(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := analyze.Reader(f, e.Name, analyze.Options{})
			f.Close()
			if err != nil {
				t.Skipf("not readable: %v", err)
			}
			res, err := detect.Run(c, detect.Config{})
			if err != nil {
				t.Fatal(err)
			}
			checkJSON(t, Build(c, res, testTool))
			checkJSON(t, Build(c, nil, testTool))
		})
	}
}

// TestAppendJSONEdges covers what the captures do not: nil slices and
// pointers, strings that need escaping, floats that encoding/json writes
// with an exponent, and values it cannot encode.
func TestAppendJSONEdges(t *testing.T) {
	checkJSON(t, &Report{})

	odd := []string{"", "a\"b\\c", "tab\there\nline\r\x00\x1f\x7f", "<html>&amp;",
		"caf\u00e9 \u2028\u2029 \U0001F600", "bad \xff\xfe utf-8", "\u007f"}
	for _, s := range odd {
		rep := fullReport()
		rep.Capture.Path = s
		rep.Sessions[0].TransportWhy = s
		rep.Findings[0].Summary = s
		rep.Capture.LinkTypes = []string{s, s}
		checkJSON(t, rep)
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 0.5, 1e20, 1e21, 1e22, -3.25e-9,
		123456789.123456789, math.SmallestNonzeroFloat64, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		rep := fullReport()
		rep.Capture.Duration = f
		rep.Sessions[0].TimeToOutcome = new(f)
		checkJSON(t, rep)
	}
}

// FuzzAppendJSON checks AppendJSON against encoding/json on arbitrary
// strings and floats.
func FuzzAppendJSON(f *testing.F) {
	f.Add("plain", 1.5, uint64(7), -3)
	f.Add("\"\\\x00\u2028\xff", 1e-9, uint64(math.MaxUint64), math.MinInt)
	f.Fuzz(func(t *testing.T, s string, x float64, u uint64, i int) {
		rep := fullReport()
		rep.VerdictWhy = s
		rep.Sessions[0].Client = s
		rep.Sessions[0].Stall.Seconds = x
		rep.Sessions[0].Packets = u
		rep.Sessions[0].ID = i
		checkJSON(t, rep)
	})
}

// fullReport returns a report in which every pointer is set and every
// list has an element.
func fullReport() *Report {
	start, end := "2024-01-01T00:00:00.000000000Z", "2024-01-01T00:00:01.500000000Z"
	return &Report{
		Schema: Schema,
		Tool:   Tool{Name: "ctcpdiag", Version: "test"},
		Capture: Capture{
			Path: "x.pcap", SHA256: "00", Size: 1 << 40, Format: "pcap", Compression: "none",
			LinkTypes: []string{"ethernet"}, Packets: 10, Start: &start, End: &end, Duration: 1.5,
			Warnings: []string{"w"},
			Stats:    Stats{IPPackets: 1, TCPStreams: 2, DroppedSessions: 3, TCP: analyze.TCPCounts{DupAcks: 4, WindowFull: 5}},
		},
		Verdict: "affected", VerdictWhy: "why",
		Transports: []TransportCount{{Transport: "ctcp", Sessions: 1}},
		Sessions: []Session{{
			ID: 0, Stream: new(0), Protocol: "tcp", Transport: "ctcp", TransportSure: true,
			Client: "10.0.0.1:1", Headend: "[::1]:10000", ClientBy: "syn", FirstFrame: 1, LastFrame: 10,
			Start: start, End: end, Packets: 10, DupAcks: 3, Outcome: "reconnected", OutcomeFrame: 9,
			NextSession: new(1), TimeToOutcome: new(0.25),
			Stall: &Stall{Side: "headend", FromFrame: 2, ToFrame: 0, From: start, To: end, Seconds: 1.5, Open: true},
			RetransmitRequests: []RetransmitRequest{
				{RequestedBy: "client", Ack: math.MaxUint32, DupAcks: 3, FirstFrame: 4, FirstTime: start, Frames: []uint64{4, 5, 6}, Answered: new(false), Why: "w"},
				{RequestedBy: "client", Frames: nil, Answered: nil},
				{Frames: []uint64{}, Answered: new(true)},
			},
			Unanswered: 1, WiresharkFilter: "tcp.stream eq 0",
		}, {ID: 1}},
		Findings:        []Finding{{ID: "f", Severity: "critical", Session: new(0), Summary: "s", Frames: []uint64{1}}, {ID: "g"}},
		Recommendations: []Recommendation{{Action: "a", Rank: 1, Title: "t", Why: "w", Config: "c\n  d", Caution: "x"}},
	}
}
