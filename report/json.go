package report

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// JSONOptions configure WriteJSON.
type JSONOptions struct {
	// Compact writes the object on one line (for JSON Lines) instead of
	// indented by two spaces.
	Compact bool
}

// WriteJSON writes rep as one JSON object followed by a newline. The output
// depends only on rep: the same Report always gives the same bytes. HTML
// characters are not escaped. The object is written in pieces of about
// 64 KiB as it is encoded, so a report of many sessions is never held
// whole in memory; if encoding fails part-way (only a NaN or infinite
// number can make it fail, and Build gives none), the part before stays
// written.
func WriteJSON(w io.Writer, rep *Report, opts JSONOptions) error {
	e := jsonEncoder{b: make([]byte, 0, 2*spillSize), indent: !opts.Compact, w: w}
	e.report(rep)
	if e.err != nil {
		return e.err
	}
	e.b = append(e.b, '\n')
	_, err := w.Write(e.b)
	return err
}

// spillSize is the amount of encoded JSON WriteJSON gathers before it
// writes it out.
const spillSize = 64 << 10

// AppendJSON appends what WriteJSON writes to b. On error it returns b
// unchanged.
//
// The bytes are those of encoding/json's Encoder (with SetEscapeHTML(false),
// and SetIndent("", "  ") unless opts.Compact) on rep; the report's types
// are written field by field, in the order and under the names of their
// json tags, because reflection made encoding the largest cost of a scan
// of many small captures. TestAppendJSONMatchesEncodingJSON holds the two
// to the same output: a field added to a type must be added here too.
func AppendJSON(b []byte, rep *Report, opts JSONOptions) ([]byte, error) {
	e := jsonEncoder{b: b, indent: !opts.Compact}
	e.report(rep)
	if e.err != nil {
		return b, e.err
	}
	return append(e.b, '\n'), nil
}

// jsonEncoder writes JSON as encoding/json does. Each value method writes
// one object member: its key, then its value.
type jsonEncoder struct {
	b      []byte
	indent bool
	depth  int
	// empty is true while the object or array just opened has no
	// member yet.
	empty bool
	err   error
	// w, if set, receives what is in b whenever spill finds it holds
	// spillSize bytes or more (WriteJSON).
	w io.Writer
}

// spill writes out the encoded bytes once they are many enough, between
// two elements of the long arrays.
func (e *jsonEncoder) spill() {
	if e.w == nil || len(e.b) < spillSize || e.err != nil {
		return
	}
	_, e.err = e.w.Write(e.b)
	e.b = e.b[:0]
}

// open starts an object ('{') or an array ('[').
func (e *jsonEncoder) open(c byte) {
	e.b = append(e.b, c)
	e.depth++
	e.empty = true
}

// close ends the object ('}') or array (']') opened last.
func (e *jsonEncoder) close(c byte) {
	e.depth--
	if !e.empty {
		e.newline()
	}
	e.b = append(e.b, c)
	e.empty = false
}

// elem starts an array element or an object member.
func (e *jsonEncoder) elem() {
	if !e.empty {
		e.b = append(e.b, ',')
	}
	e.empty = false
	e.newline()
}

func (e *jsonEncoder) newline() {
	if !e.indent {
		return
	}
	e.b = append(e.b, '\n')
	for range e.depth {
		e.b = append(e.b, "  "...)
	}
}

// key starts the member name; name needs no escaping.
func (e *jsonEncoder) key(name string) {
	e.elem()
	b := append(e.b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if e.indent {
		b = append(b, ' ')
	}
	e.b = b
}

func (e *jsonEncoder) null() { e.b = append(e.b, "null"...) }

func (e *jsonEncoder) str(name, v string) {
	e.key(name)
	e.appendString(v)
}

// optional writes the member name: null for a nil pointer, else the
// value write writes.
func optional[T any](e *jsonEncoder, name string, v *T, write func(T)) {
	e.key(name)
	if v == nil {
		e.null()
		return
	}
	write(*v)
}

func (e *jsonEncoder) strPtr(name string, v *string) { optional(e, name, v, e.appendString) }

// array writes the member name: null for a nil slice, else an array
// whose elements each writes, one value per call.
func array[T any](e *jsonEncoder, name string, v []T, each func(*T)) {
	e.key(name)
	if v == nil {
		e.null()
		return
	}
	e.open('[')
	for i := range v {
		e.elem()
		each(&v[i])
	}
	e.close(']')
}

func (e *jsonEncoder) strs(name string, v []string) {
	array(e, name, v, func(s *string) { e.appendString(*s) })
}

func (e *jsonEncoder) int(name string, v int) {
	e.key(name)
	e.b = strconv.AppendInt(e.b, int64(v), 10)
}

func (e *jsonEncoder) intPtr(name string, v *int) {
	optional(e, name, v, func(n int) { e.b = strconv.AppendInt(e.b, int64(n), 10) })
}

func (e *jsonEncoder) uint(name string, v uint64) {
	e.key(name)
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *jsonEncoder) uints(name string, v []uint64) {
	array(e, name, v, func(n *uint64) { e.b = strconv.AppendUint(e.b, *n, 10) })
}

func (e *jsonEncoder) bool(name string, v bool) {
	e.key(name)
	e.b = strconv.AppendBool(e.b, v)
}

func (e *jsonEncoder) boolPtr(name string, v *bool) {
	optional(e, name, v, func(b bool) { e.b = strconv.AppendBool(e.b, b) })
}

func (e *jsonEncoder) float(name string, v float64) {
	e.key(name)
	e.appendFloat(v)
}

func (e *jsonEncoder) floatPtr(name string, v *float64) { optional(e, name, v, e.appendFloat) }

// appendFloat writes v as encoding/json does. Within the range where it
// uses the shortest decimal without exponent that is strconv's 'f'
// format; outside it (exponents, NaN and infinities, which are errors)
// encoding/json itself writes v.
func (e *jsonEncoder) appendFloat(v float64) {
	if a := math.Abs(v); a == 0 || a >= 1e-6 && a < 1e21 {
		e.b = strconv.AppendFloat(e.b, v, 'f', -1, 64)
		return
	}
	e.appendStd(v)
}

// appendString writes s quoted. Printable ASCII other than '"' and '\'
// is written as it is, which is what encoding/json does without HTML
// escaping; any other string is left to encoding/json.
func (e *jsonEncoder) appendString(s string) {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			e.appendStd(s)
			return
		}
	}
	b := append(e.b, '"')
	b = append(b, s...)
	e.b = append(b, '"')
}

// plainJSON holds the bytes that encoding/json writes as they are in a
// string when it does not escape HTML: printable ASCII but the quote and the backslash.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendStd writes v with encoding/json.
func (e *jsonEncoder) appendStd(v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.b = append(e.b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

func (e *jsonEncoder) report(r *Report) {
	e.open('{')
	e.str("schema", r.Schema)
	e.key("tool")
	e.open('{')
	e.str("name", r.Tool.Name)
	e.str("version", r.Tool.Version)
	e.close('}')
	e.key("capture")
	e.capture(&r.Capture)
	e.str("verdict", r.Verdict)
	e.str("verdict_why", r.VerdictWhy)
	e.strPtr("confidence", r.Confidence)
	e.str("confidence_why", r.ConfidenceWhy)

	array(e, "transports", r.Transports, func(t *TransportCount) {
		e.open('{')
		e.str("transport", t.Transport)
		e.int("sessions", t.Sessions)
		e.close('}')
	})

	array(e, "sessions", r.Sessions, func(s *Session) {
		e.session(s)
		e.spill()
	})
	array(e, "findings", r.Findings, func(f *Finding) {
		e.open('{')
		e.str("id", f.ID)
		e.str("severity", f.Severity)
		e.intPtr("session", f.Session)
		e.str("summary", f.Summary)
		e.uints("frames", f.Frames)
		e.str("wireshark_filter", f.WiresharkFilter)
		e.close('}')
		e.spill()
	})
	array(e, "recommendations", r.Recommendations, func(rc *Recommendation) {
		e.open('{')
		e.str("action", rc.Action)
		e.int("rank", rc.Rank)
		e.str("title", rc.Title)
		e.str("why", rc.Why)
		e.str("config", rc.Config)
		e.str("caution", rc.Caution)
		e.close('}')
	})
	e.close('}')
}

func (e *jsonEncoder) capture(c *Capture) {
	e.open('{')
	e.str("path", c.Path)
	e.str("sha256", c.SHA256)
	e.key("size")
	e.b = strconv.AppendInt(e.b, c.Size, 10)
	e.str("format", c.Format)
	e.str("compression", c.Compression)
	e.strs("link_types", c.LinkTypes)
	e.uint("packets", c.Packets)
	e.strPtr("start", c.Start)
	e.strPtr("end", c.End)
	e.float("duration_seconds", c.Duration)
	e.strs("warnings", c.Warnings)

	s := &c.Stats
	e.key("stats")
	e.open('{')
	e.uint("ip_packets", s.IPPackets)
	e.uint("tcp_packets", s.TCPPackets)
	e.uint("udp_packets", s.UDPPackets)
	e.uint("esp_packets", s.ESPPackets)
	e.uint("non_ip_packets", s.NonIP)
	e.uint("undecodable_packets", s.Undecodable)
	e.uint("fragments", s.Fragments)
	e.uint("truncated_packets", s.Truncated)
	e.int("tcp_streams", s.TCPStreams)
	e.uint("evicted_flows", s.EvictedFlows)
	e.uint("dropped_sessions", s.DroppedSessions)
	e.key("tcp_analysis")
	e.tcpCounts(&s.TCP)
	e.close('}')
	e.close('}')
}

func (e *jsonEncoder) tcpCounts(t *analyze.TCPCounts) {
	e.open('{')
	e.int("dup_acks", t.DupAcks)
	e.int("retransmissions", t.Retransmissions)
	e.int("fast_retransmissions", t.FastRetransmissions)
	e.int("spurious_retransmissions", t.SpuriousRetrans)
	e.int("lost_segments", t.LostSegments)
	e.int("acked_unseen", t.AckedUnseen)
	e.int("out_of_order", t.OutOfOrder)
	e.int("zero_windows", t.ZeroWindows)
	e.int("keep_alives", t.KeepAlives)
	e.int("window_updates", t.WindowUpdates)
	e.int("window_full", t.WindowFull)
	e.close('}')
}

func (e *jsonEncoder) session(s *Session) {
	e.open('{')
	e.int("id", s.ID)
	e.intPtr("stream", s.Stream)
	e.str("protocol", s.Protocol)
	e.str("transport", s.Transport)
	e.str("transport_why", s.TransportWhy)
	e.bool("transport_sure", s.TransportSure)
	e.str("client", s.Client)
	e.str("headend", s.Headend)
	e.str("client_by", s.ClientBy)
	e.uint("first_frame", s.FirstFrame)
	e.uint("last_frame", s.LastFrame)
	e.str("start", s.Start)
	e.str("end", s.End)
	e.uint("packets", s.Packets)
	e.int("dup_acks", s.DupAcks)
	e.int("retransmissions", s.Retransmissions)
	e.int("lost_segments", s.LostSegments)
	e.str("outcome", s.Outcome)
	e.uint("outcome_frame", s.OutcomeFrame)
	e.intPtr("next_session", s.NextSession)
	e.floatPtr("time_to_outcome_seconds", s.TimeToOutcome)

	e.key("stall")
	if st := s.Stall; st == nil {
		e.null()
	} else {
		e.open('{')
		e.str("side", st.Side)
		e.uint("from_frame", st.FromFrame)
		e.uint("to_frame", st.ToFrame)
		e.str("from", st.From)
		e.str("to", st.To)
		e.float("seconds", st.Seconds)
		e.bool("open", st.Open)
		e.uint("other_segments", st.OtherSegments)
		e.uint("other_first_frame", st.OtherFirstFrame)
		e.close('}')
	}

	array(e, "retransmit_requests", s.RetransmitRequests, func(q *RetransmitRequest) {
		e.open('{')
		e.str("requested_by", q.RequestedBy)
		e.uint("ack", uint64(q.Ack))
		e.int("dup_acks", q.DupAcks)
		e.uint("first_frame", q.FirstFrame)
		e.str("first_time", q.FirstTime)
		e.uints("frames", q.Frames)
		e.uint("last_frame", q.LastFrame)
		e.float("duration_seconds", q.Duration)
		e.str("sent_by", q.SentBy)
		e.str("sent_by_why", q.SentByWhy)
		e.uint("requested_bytes_frame", q.RequestedBytesFrame)
		e.boolPtr("answered", q.Answered)
		e.str("why", q.Why)
		e.close('}')
	})
	e.int("unanswered_requests", s.Unanswered)
	e.str("wireshark_filter", s.WiresharkFilter)
	e.str("verdict", s.Verdict)
	e.strPtr("confidence", s.SessionConfidence)
	e.str("verdict_why", s.SessionWhy)
	e.str("capture_point", s.CapturePoint)
	e.str("capture_point_why", s.CapturePointWhy)
	optional(e, "path", s.Path, func(pi PathInfo) {
		e.open('{')
		e.boolPtr("tcp_stack_in_path", pi.TCPStackInPath)
		array(e, "evidence", pi.Evidence, func(ev *PathEvidence) {
			e.open('{')
			e.str("kind", ev.Kind)
			e.str("direction", ev.Direction)
			e.uints("frames", ev.Frames)
			e.str("detail", ev.Detail)
			e.close('}')
		})
		e.close('}')
	})
	array(e, "directions", s.Directions, func(d *Direction) {
		e.open('{')
		e.str("from", d.From)
		e.str("to", d.To)
		e.uint("data_segments", d.DataSegments)
		e.uint("bytes", d.Bytes)
		e.uint("esp_messages", d.ESPMessages)
		e.uint("esp_missing", d.ESPMissing)
		e.uint("esp_repeated", d.ESPRepeated)
		e.int("lost_before_capture", d.LostBeforeCapture)
		e.int("lost_after_capture", d.LostAfterCapture)
		e.int("acked_unseen", d.AckedUnseen)
		e.uint("loss_numerator", d.LossNum)
		e.uint("loss_denominator", d.LossDen)
		e.floatPtr("loss_rate", d.LossRate)
		e.str("loss_basis", d.LossBasis)
		e.uint("ctcp_messages", d.CTCPMessages)
		e.uint("coalesced_segments", d.Coalesced)
		e.uint("split_messages", d.Split)
		e.uint("unframed_segments", d.UnframedSegments)
		e.close('}')
	})
	e.close('}')
}
