//go:build linux

package lab

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// evidenceEnv names a directory the captures, the lab's logs and the
// reports are written to, when set, so that they outlive the test.
const evidenceEnv = "CTCPDIAG_LAB_EVIDENCE"

const maxRunFrames = analyze.MaxRunFrames

// want is what the report must say about one capture point of a case.
type want struct {
	verdict string
	// confidence is not checked when "".
	confidence string
	// sentBy is the sent_by of the first unanswered retransmit request;
	// "" means the report must hold no unanswered request. (Every
	// request's sent_by is checked too, against who asked according to
	// the log: the proxy is a path device, the rest are endpoints; a
	// report may say "unknown".)
	sentBy string
	// action is recommendations[0].action; "" means the report must
	// recommend nothing (a healthy capture).
	action string
}

// healthy is a healthy verdict: no confidence (null), no recommendation.
var healthy = want{verdict: "healthy"}

// expectations is, for every case of Cases, what the reports of its two
// captures must say, and which lab facts the run must show.
var expectations = []struct {
	name            string
	client, headend want
	// teardown: the raw headend's dead-peer detection resets the tunnel.
	teardown bool
	// resegmented is the capture point whose capture must show the proxy
	// re-segmenting the client's stream (messages sharing segments, and
	// with spans messages spanning segments too); every other capture
	// must show one message per segment, unless anySegments.
	resegmented string
	spans       bool
	anySegments bool
}{
	{name: "proxy-loss-to-headend", teardown: true,
		client:  want{"affected", "proven", "path-device", "ipsec-over-udp"},
		headend: want{"affected", "probable", "", "ipsec-over-udp"}},
	{name: "routed-loss", client: healthy, headend: healthy},
	{name: "kernel-loss", client: healthy, headend: healthy},
	{name: "proxy-healthy", client: healthy, headend: healthy},
	{name: "proxy-loss-to-client", client: healthy, headend: healthy},
	{name: "proxy-coalescing", resegmented: HeadendSide, spans: true,
		client:  healthy,
		headend: want{"at-risk", "probable", "", "ipsec-over-udp"}},
	{name: "udp-blocked", teardown: true,
		client:  want{"affected", "proven", "path-device", "anyconnect"},
		headend: want{"affected", "probable", "", "ipsec-over-udp"}},
	// Kept from the first lab: bulk transfer with window scaling (the
	// client overruns socat's window, and socat's resent data to the
	// client shares segments; the headend tears the tunnel down), and a raw client made to retransmit (classic after
	// three duplicate ACKs, and at the first one after a 20 ms handshake:
	// Wireshark then calls the resent segment out-of-order): healthy on
	// both sides. socat then delivers the messages it held behind the
	// hole in one segment, but whole messages sharing a segment do not
	// show a TCP stack (receive offload at a capturing host does the
	// same): only messages spanning segments do.
	{name: "ctcp-loss-bulk", anySegments: true, teardown: true,
		client:  want{"affected", "proven", "path-device", "ipsec-over-udp"},
		headend: want{"affected", "probable", "", "ipsec-over-udp"}},
	{name: "raw-retransmit", resegmented: HeadendSide, client: healthy, headend: healthy},
	{name: "raw-retransmit-ooo", resegmented: HeadendSide, client: healthy, headend: healthy},
	// Loss toward the client, whose raw endpoint acknowledges only what
	// it got in order (a naive TCP imitation): its own duplicate ACKs
	// draw resends from the proxy, so the data is carried by a TCP stack
	// that resends and nothing can wait forever: healthy. (The proxy's
	// resend may carry two messages in one segment.)
	{name: "proxy-loss-to-client-inorder", anySegments: true, client: healthy, headend: healthy},
	// The failure again, captured for only about 2.5 s after the hole,
	// less than the headend's 3 s dead-peer timeout: the client side
	// still proves it, but beyond the proxy the client->headend stream
	// stops with no teardown before the capture ends, which cannot be
	// judged (at-risk, possible).
	{name: "proxy-loss-to-headend-short",
		client:  want{"affected", "proven", "path-device", "ipsec-over-udp"},
		headend: want{"at-risk", "possible", "", "ipsec-over-udp"}},
	// Routed loss through a NAT and through a sequence randomizer: each
	// capture alone is routed-loss (their correlation is checked in
	// correlate_test.go).
	{name: "routed-nat", client: healthy, headend: healthy},
	{name: "routed-seq-randomizer", client: healthy, headend: healthy},
}

func TestLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test skipped under -short: it builds network namespaces and runs for about 15 s")
	}
	if why := Missing(); why != "" {
		t.Skipf("lab test %s (Linux network namespaces with real kernel TCP stacks)", why)
	}
	if len(expectations) != len(Cases) {
		t.Fatalf("%d expectations for %d cases", len(expectations), len(Cases))
	}
	dir := os.Getenv(evidenceEnv)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every case builds its own namespaces: run them all at once.
	type outcome struct {
		lg  *Log
		err error
	}
	out := make([]outcome, len(Cases))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range Cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lg, err := Run(c, dir)
			out[i] = outcome{lg, err}
		}()
	}
	wg.Wait()
	t.Logf("%d cases captured in %.1f s into %s", len(Cases), time.Since(start).Seconds(), dir)
	for i, c := range Cases {
		e := expectations[i]
		t.Run(c.Name, func(t *testing.T) {
			if e.name != c.Name {
				t.Fatalf("expectation %q for case %q", e.name, c.Name)
			}
			if out[i].err != nil {
				t.Fatal(out[i].err)
			}
			lg := out[i].lg
			checkLab(t, c, lg, e.teardown)
			for _, side := range []struct {
				point string
				w     want
			}{{ClientSide, e.client}, {HeadendSide, e.headend}} {
				t.Run(side.point, func(t *testing.T) {
					cp := capturePoint(t, lg, side.point)
					if cp.KernelDropped > 0 {
						// The file lacks packets the lab's log says
						// crossed the point: the log cannot judge it.
						t.Skipf("tcpdump dropped %d packets at this point (the machine was loaded): the capture is not the whole of what crossed it, so the lab's log cannot judge its report; rerun", cp.KernelDropped)
					}
					path := filepath.Join(dir, cp.File)
					logCapture(t, path)
					checkCaptureESP(t, cp, path)
					checkResets(t, cp, path, e.teardown)
					if !e.anySegments {
						checkSegmentation(t, cp, path, side.point == e.resegmented, e.spans)
					}
					checkReport(t, c, lg, cp, path, side.w)
				})
			}
			if cw, ok := correlations[c.Name]; ok {
				t.Run("correlate", func(t *testing.T) { checkCorrelation(t, c, lg, dir, cw) })
			}
		})
	}
}

// checkLab checks that the lab did what the case asks, from its own log.
func checkLab(t *testing.T, c Case, lg *Log, teardown bool) {
	t.Helper()
	for _, d := range lg.Drops {
		wantN := 1
		if d.Kind == "udp" {
			wantN = UDPAttempts
		}
		if d.Packets != wantN {
			t.Errorf("router rule %q dropped %d packets, want %d", d.Rule, d.Packets, wantN)
		}
	}
	if (lg.Proxy != nil) != c.Proxy {
		t.Errorf("proxy in the log: %v, want %v", lg.Proxy != nil, c.Proxy)
	}
	up, down := lg.Directions[0], lg.Directions[1]
	if len(up.ESPSent) == 0 || len(down.ESPSent) == 0 {
		t.Fatalf("ESP sent: client %d, headend %d messages", len(up.ESPSent), len(down.ESPSent))
	}
	if !c.Kernel {
		if lg.Client.Retransmissions != 0 && c.RetransmitAfter == 0 {
			t.Errorf("the raw client retransmitted %d segments", lg.Client.Retransmissions)
		}
		if teardown != (lg.Teardown != nil) {
			t.Errorf("headend teardown %+v, want one: %v", lg.Teardown, teardown)
		}
	}
	if lg.Teardown != nil {
		silence := lg.Teardown.At.Sub(lg.Teardown.LastClientData)
		t.Logf("the headend reset the tunnel %.2f s after the client's last data reached it, having sent %d ESP messages meanwhile; the client stopped on %s",
			silence.Seconds(), lg.Teardown.ESPSentWhileSilent, lg.ClientEnd.Reason)
		if silence < DPDTimeout || lg.Teardown.ESPSentWhileSilent < 10 {
			t.Errorf("teardown after %v of silence with %d ESP messages sent meanwhile", silence, lg.Teardown.ESPSentWhileSilent)
		}
		if lg.Ended.Sub(lg.Started) < 6*time.Second {
			t.Errorf("the run lasted %v, want at least 6 s", lg.Ended.Sub(lg.Started))
		}
	}
	t.Logf("client %s (%s) -> %s: %d IKE + %d ESP sent, headend %s (%s) got %d ESP; headend sent %d ESP, client got %d; drops %s",
		lg.Client.Address, lg.Client.Kind, lg.Client.Peer, up.IKESent, len(up.ESPSent), lg.Headend.Address, lg.Headend.Kind,
		len(up.ESPReceived), len(down.ESPSent), len(down.ESPReceived), dropsText(lg.Drops))
}

func dropsText(ds []DropLog) string {
	var s []string
	for _, d := range ds {
		if d.Kind == "udp" {
			s = append(s, fmt.Sprintf("UDP %d on %s x%d", d.Port, d.Leg, d.Packets))
		} else {
			s = append(s, fmt.Sprintf("ESP %s #%d on %s x%d (later copies passed: %d)", d.SPI, d.ESPSeq, d.Leg, d.Packets, d.PassedAfter))
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func capturePoint(t *testing.T, lg *Log, point string) *CaptureLog {
	t.Helper()
	for i := range lg.Captures {
		if lg.Captures[i].Point == point {
			return &lg.Captures[i]
		}
	}
	t.Fatalf("no %s capture in the log", point)
	return nil
}

// logCapture logs what tshark says about a capture.
func logCapture(t *testing.T, path string) {
	t.Helper()
	frames := wsFrames(t, path)
	counts := map[string]int{}
	for _, f := range frames {
		for k := range f.flags {
			counts[k]++
		}
		if f.sack {
			counts["sack"]++
		}
		if f.rst {
			counts["rst"]++
		}
		if f.fin {
			counts["fin"]++
		}
	}
	var s []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		s = append(s, fmt.Sprintf("%s %d", k, counts[k]))
	}
	t.Logf("tshark, %s: %d TCP frames; %s", filepath.Base(path), len(frames), strings.Join(s, ", "))
}

// checkCaptureESP checks the log against tshark: the ESP messages the
// capture holds in each direction (framed at the trailers in the TCP
// byte stream tshark shows) are those the log says crossed the point, and
// its holes those the log says were dropped before it.
func checkCaptureESP(t *testing.T, cp *CaptureLog, path string) {
	t.Helper()
	frames := wsFrames(t, path)
	for _, d := range cp.Directions {
		spi := uint32(ClientSPI)
		if d.Sender == "headend" {
			spi = ServerSPI
		}
		src := strings.Split(d.From, ":")[0]
		var pieces []rawData
		for _, f := range frames {
			if f.src == src && f.len > 0 && len(f.payload) == f.len {
				pieces = append(pieces, rawData{off: uint32(f.seq), data: f.payload})
			}
		}
		_, seen := parseChunks(chunksOf(pieces), spi)
		holes := []uint32{}
		for i := 1; i < len(seen); i++ {
			for s := seen[i-1] + 1; s < seen[i]; s++ {
				holes = append(holes, s)
			}
		}
		if len(seen) != d.ESPMessages || !slices.Equal(holes, d.ESPMissingSeqs) {
			t.Errorf("%s, %s -> %s: tshark shows %d ESP messages with holes at %v; the log says %d crossed this point and %v are missing",
				cp.File, d.From, d.To, len(seen), holes, d.ESPMessages, d.ESPMissingSeqs)
		}
	}
}

// checkResets checks that the only RST a capture holds is the headend's
// teardown (the namespaces' kernels, which know nothing of the raw
// connections, must not reset them).
func checkResets(t *testing.T, cp *CaptureLog, path string, teardown bool) {
	t.Helper()
	rst := filter(wsFrames(t, path), func(f *wsFrame) bool { return f.rst })
	headend := strings.Split(cp.Headend, ":")[0]
	switch {
	case cp.Point == HeadendSide && teardown:
		if len(rst) != 1 || rst[0].src != headend {
			t.Errorf("%s: RSTs at frames %v, want the headend's teardown only", cp.File, frameNumbers(rst))
		}
	case !teardown && len(rst) != 0:
		t.Errorf("%s: RSTs at frames %v, want none: the lab broke the connection", cp.File, frameNumbers(rst))
	}
}

// checkSegmentation checks, on tshark's payloads, that the proxy
// re-segmented the stream it sent at this point (resegmented: messages
// sharing segments, and with spans messages spanning segments too) or
// that every segment carries exactly one whole message.
func checkSegmentation(t *testing.T, cp *CaptureLog, path string, resegmented, spans bool) {
	t.Helper()
	shared, spanning := 0, 0
	for _, f := range wsFrames(t, path) {
		if f.len == 0 {
			continue
		}
		trailers, endsAtTrailer := 0, false
		for i := 16; i <= len(f.payload); i++ {
			if isTrailer(f.payload[i-16 : i]) {
				trailers++
				endsAtTrailer = i == len(f.payload)
			}
		}
		if trailers > 1 {
			shared++
		}
		if !endsAtTrailer {
			spanning++
		}
	}
	t.Logf("tshark, %s: %d segments carry more than one message, %d end inside a message", cp.File, shared, spanning)
	switch {
	case resegmented && (shared == 0 || spans && spanning == 0):
		t.Errorf("%s: the proxy's re-segmentation does not show: %d segments with more than one message, %d messages spanning segments", cp.File, shared, spanning)
	case !resegmented && (shared != 0 || spanning != 0):
		t.Errorf("%s: %d segments with more than one message, %d messages spanning segments, want one message per segment", cp.File, shared, spanning)
	}
}

// checkReport runs ctcpdiag on one capture and checks its JSON report
// against the lab's log and tshark.
func checkReport(t *testing.T, c Case, lg *Log, cp *CaptureLog, path string, w want) {
	t.Helper()
	rep := analyzeJSON(t, path)
	if rep.Verdict != w.verdict {
		t.Errorf("verdict %q, want %q: %s", rep.Verdict, w.verdict, rep.VerdictWhy)
	}
	if w.confidence != "" && (rep.Confidence == nil || *rep.Confidence != w.confidence) {
		t.Errorf("confidence %s, want %q: %s", strPtr(rep.Confidence), w.confidence, rep.ConfidenceWhy)
	}
	for _, r := range rep.Recommendations {
		if strings.Contains(r.Config, ProxyAddr) {
			t.Errorf("recommendation %s: its configuration names the proxy's address %s:\n%s", r.Action, ProxyAddr, r.Config)
		}
	}
	if w.verdict == "healthy" && rep.Confidence != nil {
		t.Errorf("confidence %s for a healthy verdict, want null", *rep.Confidence)
	}
	switch {
	case w.action == "" && len(rep.Recommendations) > 0:
		t.Errorf("%d recommendations for a %s capture, want none", len(rep.Recommendations), rep.Verdict)
	case w.action == "":
	case len(rep.Recommendations) == 0:
		t.Errorf("no recommendation, want %s first", w.action)
	case rep.Recommendations[0].Action != w.action:
		t.Errorf("recommendations[0].action %q, want %q", rep.Recommendations[0].Action, w.action)
	}

	i := slices.IndexFunc(rep.Sessions, func(s jsonSession) bool { return s.Client == cp.Client && s.Headend == cp.Headend })
	if i < 0 {
		t.Fatalf("no session %s -> %s in the report", cp.Client, cp.Headend)
	}
	s := rep.Sessions[i]
	if s.Transport != "ctcp" {
		t.Errorf("session %d transport %q, want ctcp", s.ID, s.Transport)
	}
	if s.CapturePoint != cp.Point {
		t.Errorf("session %d capture_point %q, want %q: %s", s.ID, s.CapturePoint, cp.Point, s.CapturePointWhy)
	}
	for _, d := range cp.Directions {
		j := slices.IndexFunc(s.Directions, func(x jsonDirection) bool { return x.From == d.From && x.To == d.To })
		if j < 0 {
			t.Errorf("session %d: no direction %s -> %s (the %s's), want esp_messages %d esp_missing %d",
				s.ID, d.From, d.To, d.Sender, d.ESPMessages, d.ESPMissing)
			continue
		}
		x := s.Directions[j]
		if x.ESPMessages == nil || *x.ESPMessages != d.ESPMessages {
			t.Errorf("%s -> %s: esp_messages %s, want %d (the lab's log: ESP %d-%d crossed this point)",
				d.From, d.To, intPtr(x.ESPMessages), d.ESPMessages, d.ESPFirst, d.ESPLast)
		}
		if x.ESPMissing == nil || *x.ESPMissing != d.ESPMissing {
			t.Errorf("%s -> %s: esp_missing %s, want %d (the lab's log: ESP %v dropped before this point)",
				d.From, d.To, intPtr(x.ESPMissing), d.ESPMissing, d.ESPMissingSeqs)
		}
	}
	checkRequests(t, c, lg, cp, path, s, w)
}

// checkRequests checks the session's retransmit requests: none
// unanswered, or the first unanswered one is the one for the segment the
// router dropped, with tshark's first duplicate ACK and w.sentBy.
func checkRequests(t *testing.T, c Case, lg *Log, cp *CaptureLog, path string, s jsonSession, w want) {
	t.Helper()
	var unanswered []jsonRequest
	frames := wsFrames(t, path)
	for _, q := range s.RetransmitRequests {
		t.Logf("retransmit request: %s", q)
		if q.Answered != nil && !*q.Answered {
			unanswered = append(unanswered, q)
		}
		// Who asked, from the log: the proxy (a path device) or an
		// endpoint.
		asker := cp.Headend
		if q.RequestedBy == "client" {
			asker = cp.Client
		}
		want := "endpoint"
		if lg.Proxy != nil && (asker == lg.Proxy.Listen || asker == lg.Proxy.Upstream) {
			want = "path-device"
		}
		if q.SentBy != want && q.SentBy != "unknown" {
			t.Errorf("request for ack %d by the %s (%s): sent_by %q, want %q (or unknown): %s", q.Ack, q.RequestedBy, asker, q.SentBy, want, q.SentByWhy)
		}
		ip := strings.Split(asker, ":")[0]
		if i := slices.IndexFunc(frames, func(f *wsFrame) bool { return f.num == q.FirstFrame }); i < 0 ||
			!frames[i].flag("duplicate_ack") || frames[i].src != ip || frames[i].ack != uint64(q.Ack) {
			t.Errorf("request for ack %d: first_frame %d is not a duplicate ACK from %s for ack %d in tshark's view", q.Ack, q.FirstFrame, ip, q.Ack)
		}
	}
	if w.sentBy == "" {
		if len(unanswered) != 0 {
			t.Errorf("%d unanswered retransmit requests, want none: %s", len(unanswered), unanswered[0])
		}
		return
	}
	if len(unanswered) == 0 {
		t.Fatalf("no unanswered retransmit request")
	}
	q := slices.MinFunc(unanswered, func(a, b jsonRequest) int { return int(a.FirstFrame) - int(b.FirstFrame) })
	if q.SentBy != w.sentBy {
		t.Errorf("sent_by %q, want %q: %s", q.SentBy, w.sentBy, q.SentByWhy)
	}
	if q.RequestedBy != "headend" {
		t.Errorf("requested_by %q, want headend", q.RequestedBy)
	}
	// The dropped segment, as this capture saw it.
	di := slices.IndexFunc(lg.Drops, func(d DropLog) bool {
		return d.Kind == "tcp" && d.Direction == "client->headend" && !slices.Contains(d.BeforeCapture, cp.Point)
	})
	if di < 0 {
		t.Fatalf("the log has no client->headend drop after the %s capture", cp.Point)
	}
	d := lg.Drops[di]
	marker := filter(frames, func(f *wsFrame) bool { return isESP(f, d.SPI, d.ESPSeq) })
	if len(marker) == 0 {
		t.Fatalf("tshark finds no segment with ESP %s #%d in %s", d.SPI, d.ESPSeq, cp.File)
	}
	if len(marker) != 1 && !c.Kernel && c.RetransmitAfter == 0 {
		t.Errorf("tshark sees the dropped segment %d times (frames %v), want once: cTCP never retransmits", len(marker), frameNumbers(marker))
	}
	a := uint32(marker[0].seq)
	peer := strings.Split(cp.Headend, ":")[0]
	dup := frameNumbers(filter(frames, func(f *wsFrame) bool {
		return f.src == peer && f.ack == uint64(a) && f.flag("duplicate_ack")
	}))
	t.Logf("dropped ESP #%d: frame %d, relative seq %d; tshark: %d duplicate ACKs for it from %s, first %v",
		d.ESPSeq, marker[0].num, a, len(dup), peer, first(dup))
	if len(dup) < 2 {
		t.Fatalf("tshark flags %d duplicate ACKs for ack %d: the lab did not reproduce a retransmit request", len(dup), a)
	}
	if q.Ack != a {
		t.Errorf("ack %d, want %d (relative seq of the dropped segment)", q.Ack, a)
	}
	if q.FirstFrame != dup[0] {
		t.Errorf("first_frame %d, want %d (tshark's first dup ACK for ack %d)", q.FirstFrame, dup[0], a)
	}
	if capped := dup[:min(len(dup), maxRunFrames)]; !slices.Equal(q.Frames, capped) {
		t.Errorf("frames %v,\nwant tshark's dup ACKs %v", q.Frames, capped)
	}
	if q.DupAcks != len(dup) {
		t.Errorf("dup_acks %d, want %d (tshark's dup ACKs for ack %d)", q.DupAcks, len(dup), a)
	}
}

// isESP reports whether f starts with the ESP header SPI (as the log
// writes it, 0x...) and sequence number seq.
func isESP(f *wsFrame, spi string, seq uint32) bool {
	n, err := strconv.ParseUint(strings.TrimPrefix(spi, "0x"), 16, 32)
	if err != nil || len(f.payload) < 8 {
		return false
	}
	return uint32(n) == uint32(f.payload[0])<<24|uint32(f.payload[1])<<16|uint32(f.payload[2])<<8|uint32(f.payload[3]) &&
		seq == uint32(f.payload[4])<<24|uint32(f.payload[5])<<16|uint32(f.payload[6])<<8|uint32(f.payload[7])
}

func strPtr(p *string) string {
	if p == nil {
		return "null"
	}
	return strconv.Quote(*p)
}

func intPtr(p *int) string {
	if p == nil {
		return "absent"
	}
	return strconv.Itoa(*p)
}

// jsonReport is the part of the JSON report the lab checks (the contract
// in docs/json.md).
type jsonReport struct {
	Capture struct {
		Stats struct {
			TCPAnalysis map[string]int `json:"tcp_analysis"`
		} `json:"stats"`
	} `json:"capture"`
	Verdict       string        `json:"verdict"`
	VerdictWhy    string        `json:"verdict_why"`
	Confidence    *string       `json:"confidence"`
	ConfidenceWhy string        `json:"confidence_why"`
	Sessions      []jsonSession `json:"sessions"`
	Findings      []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
	} `json:"findings"`
	Recommendations []struct {
		Action string `json:"action"`
		Rank   int    `json:"rank"`
		Config string `json:"config"`
	} `json:"recommendations"`
}

type jsonSession struct {
	ID                 int             `json:"id"`
	Transport          string          `json:"transport"`
	Client             string          `json:"client"`
	Headend            string          `json:"headend"`
	Outcome            string          `json:"outcome"`
	CapturePoint       string          `json:"capture_point"`
	CapturePointWhy    string          `json:"capture_point_why"`
	Directions         []jsonDirection `json:"directions"`
	RetransmitRequests []jsonRequest   `json:"retransmit_requests"`
}

type jsonDirection struct {
	From        string `json:"from"`
	To          string `json:"to"`
	ESPMessages *int   `json:"esp_messages"`
	ESPMissing  *int   `json:"esp_missing"`
}

type jsonRequest struct {
	RequestedBy string   `json:"requested_by"`
	SentBy      string   `json:"sent_by"`
	SentByWhy   string   `json:"sent_by_why"`
	Ack         uint32   `json:"ack"`
	DupAcks     int      `json:"dup_acks"`
	FirstFrame  uint64   `json:"first_frame"`
	Frames      []uint64 `json:"frames"`
	Answered    *bool    `json:"answered"`
	Why         string   `json:"why"`
}

// analyzeJSON runs the ctcpdiag pipeline (analyze, detect, report as
// JSON, as `ctcpdiag analyze --format json` does) on path, writes the
// report next to it in the evidence directory, and checks its TCP
// analysis counters against tshark's.
func analyzeJSON(t *testing.T, path string) *jsonReport {
	t.Helper()
	c, err := analyze.File(path, analyze.Options{})
	if err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	res, err := detect.Run(c, detect.Config{DupAcks: 2})
	if err != nil {
		t.Fatalf("detect %s: %v", path, err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, report.Build(c, res, report.Tool{Name: "ctcpdiag", Version: "lab"}), report.JSONOptions{}); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(evidenceEnv); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".pcap")+".report.json"), buf.Bytes(), 0o644)
	}
	var rep jsonReport
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, path, &rep)
	conf := "null"
	if rep.Confidence != nil {
		conf = *rep.Confidence
	}
	t.Logf("%s: verdict %s/%s: %s", filepath.Base(path), rep.Verdict, conf, rep.VerdictWhy)
	for _, f := range rep.Findings {
		t.Logf("  %s %s: %s", f.Severity, f.ID, f.Summary)
	}
	return &rep
}

// analysisCounters are, for each capture-wide TCP analysis counter of
// the report, the frames tshark flags that it counts.
var analysisCounters = map[string]func(f *wsFrame) bool{
	"dup_acks": func(f *wsFrame) bool { return f.flag("duplicate_ack") },
	"retransmissions": func(f *wsFrame) bool {
		return f.flag("retransmission", "fast_retransmission", "spurious_retransmission")
	},
	"fast_retransmissions":     func(f *wsFrame) bool { return f.flag("fast_retransmission") },
	"spurious_retransmissions": func(f *wsFrame) bool { return f.flag("spurious_retransmission") },
	"lost_segments":            func(f *wsFrame) bool { return f.flag("lost_segment") },
	"acked_unseen":             func(f *wsFrame) bool { return f.flag("ack_lost_segment") },
	"out_of_order":             func(f *wsFrame) bool { return f.flag("out_of_order") },
	"zero_windows":             func(f *wsFrame) bool { return f.flag("zero_window") },
	"keep_alives":              func(f *wsFrame) bool { return f.flag("keep_alive") },
	"window_updates":           func(f *wsFrame) bool { return f.flag("window_update") },
	"window_full":              func(f *wsFrame) bool { return f.flag("window_full") },
}

// checkCounts compares the report's TCP analysis counters with tshark's
// on the same capture of real stacks.
func checkCounts(t *testing.T, path string, rep *jsonReport) {
	t.Helper()
	frames := wsFrames(t, path)
	got := rep.Capture.Stats.TCPAnalysis
	for _, k := range slices.Sorted(maps.Keys(analysisCounters)) {
		want := len(filter(frames, analysisCounters[k]))
		if n, ok := got[k]; !ok || n != want {
			t.Errorf("%s: tcp_analysis.%s = %d (present %v), tshark counts %d", filepath.Base(path), k, n, ok, want)
		}
	}
}

// analysisFlags are the tshark tcp.analysis fields wsFrames reads.
var analysisFlags = []string{
	"duplicate_ack", "retransmission", "fast_retransmission", "spurious_retransmission",
	"lost_segment", "ack_lost_segment", "out_of_order", "zero_window", "keep_alive",
	"window_update", "window_full",
}

// wsFrame is one TCP frame as tshark dissects it (relative sequence
// numbers).
type wsFrame struct {
	num          uint64
	time         float64
	src          string
	sport, dport uint64
	seq, ack     uint64
	nxtseq       uint64
	len          int
	rst, fin     bool
	sack         bool
	payload      []byte
	flags        map[string]bool
}

func (f *wsFrame) flag(names ...string) bool {
	for _, n := range names {
		if f.flags[n] {
			return true
		}
	}
	return false
}

var (
	wsMu    sync.Mutex
	wsCache = map[string][]*wsFrame{}
)

// wsFrames runs tshark once on path and returns its TCP frames.
func wsFrames(t *testing.T, path string) []*wsFrame {
	t.Helper()
	wsMu.Lock()
	defer wsMu.Unlock()
	if fs, ok := wsCache[path]; ok {
		return fs
	}
	fields := []string{"frame.number", "frame.time_relative", "ip.src", "tcp.srcport", "tcp.dstport",
		"tcp.seq", "tcp.ack", "tcp.nxtseq", "tcp.len", "tcp.flags.reset", "tcp.flags.fin",
		"tcp.options.sack_le", "tcp.payload"}
	for _, f := range analysisFlags {
		fields = append(fields, "tcp.analysis."+f)
	}
	args := []string{"-n", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	num := func(s string) uint64 {
		n, _ := strconv.ParseUint(s, 10, 64)
		return n
	}
	flag := func(s string) bool { return s == "1" || s == "True" }
	var frames []*wsFrame
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		c := strings.Split(line, "\t")
		if len(c) != len(fields) {
			continue
		}
		tm, _ := strconv.ParseFloat(c[1], 64)
		f := &wsFrame{
			num: num(c[0]), time: tm, src: c[2], sport: num(c[3]), dport: num(c[4]),
			seq: num(c[5]), ack: num(c[6]), nxtseq: num(c[7]), len: int(num(c[8])),
			rst: flag(c[9]), fin: flag(c[10]), sack: c[11] != "",
			flags: map[string]bool{},
		}
		f.payload, _ = hex.DecodeString(strings.ReplaceAll(c[12], ":", ""))
		for i, n := range analysisFlags {
			if c[13+i] != "" {
				f.flags[n] = true
			}
		}
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		t.Fatalf("tshark finds no TCP frame in %s", path)
	}
	wsCache[path] = frames
	return frames
}

func filter(frames []*wsFrame, keep func(f *wsFrame) bool) []*wsFrame {
	var out []*wsFrame
	for _, f := range frames {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func frameNumbers(frames []*wsFrame) []uint64 {
	out := make([]uint64, 0, len(frames))
	for _, f := range frames {
		out = append(out, f.num)
	}
	return out
}

// String shows a request in test logs.
func (q jsonRequest) String() string {
	ans := "inconclusive"
	if q.Answered != nil {
		ans = strconv.FormatBool(*q.Answered)
	}
	return fmt.Sprintf("by %s (sent_by %q) ack %d dup_acks %d first_frame %d frames %v answered %s: %s",
		q.RequestedBy, q.SentBy, q.Ack, q.DupAcks, q.FirstFrame, q.Frames, ans, q.Why)
}

func first(f []uint64) any {
	if len(f) == 0 {
		return nil
	}
	return f[0]
}

func TestKernelDropped(t *testing.T) {
	stderr := "tcpdump: listening on c0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n1523 packets captured\n1530 packets received by filter\n7 packets dropped by kernel\n"
	if got := kernelDropped(stderr); got != 7 {
		t.Errorf("kernelDropped = %d, want 7", got)
	}
	if got := kernelDropped("tcpdump: listening on c0\n"); got != 0 {
		t.Errorf("kernelDropped without statistics = %d, want 0", got)
	}
}
