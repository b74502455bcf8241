package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// view is what the text, Markdown and HTML reports say about one Report,
// every sentence of it built once, by newView: the renderers only lay it
// out (sections, tables, colours, markup) and escape it for their format.
// Every string in a view has had its control characters escaped (clean),
// which is all the text report needs; Markdown then escapes its markup
// (mdText, mdCode) and HTML leaves the rest to html/template.
type view struct {
	// Heading is the first line, which names the capture: "ctcpdiag
	// report: " and the capture's name, as code.
	Heading phrase
	// Title is the HTML page's title: "ctcpdiag: AFFECTED - x.pcap".
	Title string
	// Verdict is the verdict value, for a renderer to choose a colour or
	// a class; VerdictLabel is its headline word ("AFFECTED"),
	// VerdictLine the verdict line and ConfidenceWhy why the verdict is
	// that sure ("" when the report does not say).
	Verdict, VerdictLabel, VerdictLine, ConfidenceWhy string
	// Capture summarises the capture, one field a row; Warnings are its
	// warnings and WarningCount counts them ("2 warnings").
	Capture      []field
	Warnings     []string
	WarningCount string
	// Transports lists the VPN transports seen ("VPN transports seen:
	// cTCP (1 session)"), "" when a finding does.
	Transports string
	// NoSessions is true for a capture without TCP sessions or VPN flows.
	NoSessions bool
	// Sessions are the rows of the sessions table.
	Sessions []sessionRow
	// Others counts the sessions the table leaves out ("3 other TCP
	// sessions without dup ACKs, retransmissions or lost segments"), ""
	// when none; OthersAfter is true when it follows listed sessions.
	Others      string
	OthersAfter bool
	// Notes are what the reports say under the sessions table about
	// each listed session that has something to say (see sessionNotes);
	// Guess is true when a listed VPN transport was only guessed.
	Notes []sessionNote
	Guess bool
	// Findings are the report's findings, in its order.
	Findings []findingView
	// Evidence holds the evidence of each session of Report.Evidence, in
	// the same order.
	Evidence []evidenceView
	// Recommendations are the ranked fixes.
	Recommendations []recommendationView
	// Glossary ends the Markdown and HTML reports.
	Glossary []glossaryEntry
	// Footer names the tool that made the report: "Report by ctcpdiag
	// v1.2.0."
	Footer string
}

// span is a piece of a phrase: prose, or code (a file name, an address, a
// filter, an identifier) that Markdown and HTML set as code.
type span struct {
	S    string
	Code bool
}

// phrase is a sentence made of spans.
type phrase []span

// String is the phrase as plain text.
func (p phrase) String() string {
	if len(p) == 1 {
		return p[0].S
	}
	var b strings.Builder
	for _, s := range p {
		b.WriteString(s.S)
	}
	return b.String()
}

// prose and code make a phrase of one span of s, cleaned.
func prose(s string) phrase { return phrase{{S: clean(s)}} }
func code(s string) phrase  { return phrase{{S: clean(s), Code: true}} }

// field is one row of the capture summary.
type field struct {
	// Name names the row in the text report ("link types"), Label in
	// Markdown and HTML ("Link types").
	Name, Label string
	Value       phrase
}

// sessionRow is one row of the sessions table. Client and Headend are
// set as code.
type sessionRow struct {
	ID, Transport, Client, Headend, Frames, Packets string
	DupAcks, Retrans, Lost, Requests, Outcome       string
	// Unanswered counts the unanswered requests ("1 unanswered"), ""
	// when none: the reports flag it after Requests.
	Unanswered string
}

// findingView is one finding.
type findingView struct {
	// Severity is the severity value, for a renderer to choose a colour
	// or a class; Label is how the reports write it ("CRITICAL").
	Severity, Label string
	// ID is set as code; Session names the session ("session 3"), ""
	// for a capture-wide finding.
	ID, Session string
	Summary     string
	// Frames lists the evidence frames ("1, 2, 3"), Filter is the
	// Wireshark display filter (code); "" when none.
	Frames, Filter string
}

// evidenceView is the evidence of one session.
type evidenceView struct {
	// Session is the session's ID, to find its graph.
	Session int
	// Title names the session ("session 2: cTCP a -> b").
	Title string
	// Note says what the times are, Start and Duration are the session's
	// first packet and length ("38.2 s"), for the HTML graph's caption.
	Note, Start, Duration string
	Rows                  []evidenceRow
	// Omitted says how many retransmit requests Rows leave out, ""
	// when none.
	Omitted string
	// Wireshark says how to find the session and its frames in Wireshark,
	// in this capture and in a cut of it such as the evidence capture;
	// nil when the report does not know the session.
	Wireshark phrase
}

// evidenceRow is one evidence frame. Time is "" when unknown.
type evidenceRow struct {
	Frame, Time, Direction, What string
}

// recommendationView is one ranked fix. Action is set as code; Config are
// the lines of its configuration, set as a code block.
type recommendationView struct {
	Rank, Title, Action, Why, Caution string
	Config                            []string
}

// newView builds the view of rep.
func newView(rep *Report) *view {
	path := clean(displayPath(rep))
	v := &view{
		Heading:       phrase{{S: headingPrefix}, {S: path, Code: true}},
		Verdict:       rep.Verdict,
		VerdictLabel:  clean(verdictLabel(rep.Verdict)),
		VerdictLine:   clean(verdictLine(rep)),
		ConfidenceWhy: clean(rep.ConfidenceWhy),
		Glossary:      glossary,
		Footer:        clean("Report by " + rep.Tool.Name + " " + rep.Tool.Version + "."),
	}
	v.Title = "ctcpdiag: " + v.VerdictLabel + " - " + path
	v.capture(&rep.Capture)
	v.sessions(rep)
	v.Findings = make([]findingView, len(rep.Findings))
	for i := range rep.Findings {
		v.Findings[i] = newFindingView(&rep.Findings[i])
	}
	v.Evidence = make([]evidenceView, len(rep.Evidence))
	for i := range rep.Evidence {
		v.Evidence[i] = newEvidenceView(&rep.Evidence[i])
		v.Evidence[i].Wireshark = wiresharkPhrase(rep, rep.Evidence[i].Session)
	}
	v.Recommendations = make([]recommendationView, len(rep.Recommendations))
	for i := range rep.Recommendations {
		v.Recommendations[i] = newRecommendationView(&rep.Recommendations[i])
	}
	return v
}

func (v *view) capture(c *Capture) {
	sha := prose(noHash)
	if c.SHA256 != "" {
		sha = code(c.SHA256)
	}
	span := "no packets"
	if c.Start != nil && c.End != nil {
		span = *c.Start + " to " + *c.End + " (" + formatSeconds(c.Duration) + ")"
	}
	v.Capture = []field{
		{"file", "File", code(c.Path)},
		{"format", "Format", prose(formatPhrase(c))},
		{"size", "Size", prose(plural(c.Size, "byte", "bytes"))},
		{"sha256", "SHA-256", sha},
		{"packets", "Packets", prose(group(int64(c.Packets)))},
		{"time", "Time span", prose(span)},
		{"link types", "Link types", prose(linkTypesPhrase(c))},
		{"tcp analysis", "TCP analysis", prose(tcpAnalysisPhrase(c))},
	}
	v.Warnings = make([]string, len(c.Warnings))
	for i, w := range c.Warnings {
		v.Warnings[i] = clean(w)
	}
	v.WarningCount = plural(int64(len(c.Warnings)), "warning", "warnings")
}

func (v *view) sessions(rep *Report) {
	if !transportsStated(rep) {
		v.Transports = clean("VPN transports seen: " + transportsSentence(rep))
	}
	v.NoSessions = len(rep.Sessions) == 0
	shown := shownSessions(rep)
	v.Sessions = make([]sessionRow, 0, len(shown))
	for _, s := range shown {
		transport := clean(transportLabel(s.Transport))
		if !s.TransportSure && analyze.Transport(s.Transport).IsVPN() {
			transport += "?"
		}
		row := sessionRow{
			ID:        strconv.Itoa(s.ID),
			Transport: transport,
			Client:    clean(s.Client),
			Headend:   clean(s.Headend),
			Frames:    frameRange(s.FirstFrame, s.LastFrame),
			Packets:   group(int64(s.Packets)),
			DupAcks:   group(int64(s.DupAcks)),
			Retrans:   group(int64(s.Retransmissions)),
			Lost:      group(int64(s.LostSegments)),
			Requests:  strconv.Itoa(len(s.RetransmitRequests)),
			Outcome:   clean(s.Outcome),
		}
		if s.Unanswered > 0 {
			row.Unanswered = strconv.Itoa(s.Unanswered) + " unanswered"
		}
		v.Sessions = append(v.Sessions, row)
	}
	l := rep.Listing
	if other := l.OtherTCP + l.OtherUDP; other > 0 {
		v.OthersAfter = len(l.Shown) > 0
		n := group(int64(other)) + " "
		if v.OthersAfter {
			n += "other "
		}
		v.Others = n + otherSessionsNoun(l) + " without dup ACKs, retransmissions or lost segments"
	}
	v.Notes, v.Guess = sessionNotes(rep, shown)
}

// frameRange writes "first-last".
func frameRange(first, last uint64) string {
	var buf [41]byte
	b := strconv.AppendUint(buf[:0], first, 10)
	b = append(b, '-')
	return string(strconv.AppendUint(b, last, 10))
}

// shownSessions are the sessions rep.Listing shows, in its order.
func shownSessions(rep *Report) []*Session {
	shown := make([]*Session, 0, len(rep.Listing.Shown))
	for _, i := range rep.Listing.Shown {
		if i >= 0 && i < len(rep.Sessions) {
			shown = append(shown, &rep.Sessions[i])
		}
	}
	return shown
}

func newFindingView(f *Finding) findingView {
	fv := findingView{
		Severity: f.Severity,
		Label:    clean(strings.ToUpper(f.Severity)),
		ID:       clean(f.ID),
		Summary:  clean(f.Summary),
		Filter:   clean(f.WiresharkFilter),
	}
	if f.Session != nil {
		fv.Session = "session " + strconv.Itoa(*f.Session)
	}
	if len(f.Frames) > 0 {
		fv.Frames = frameList(f.Frames)
	}
	return fv
}

func newEvidenceView(se *SessionEvidence) evidenceView {
	start := clean(se.Start)
	ev := evidenceView{
		Session:  se.Session,
		Title:    clean(se.Title),
		Note:     "Times are seconds from the session's first packet (" + start + ").",
		Start:    start,
		Duration: formatSeconds(se.Duration),
		Rows:     make([]evidenceRow, len(se.Rows)),
	}
	for i, e := range se.Rows {
		r := evidenceRow{Frame: strconv.FormatUint(e.Frame, 10), Direction: clean(e.Direction), What: clean(e.What)}
		if e.HasTime {
			r.Time = strconv.FormatFloat(e.Offset, 'f', 6, 64)
		}
		ev.Rows[i] = r
	}
	if se.Omitted > 0 {
		ev.Omitted = plural(int64(se.Omitted), "more retransmit request", "more retransmit requests") +
			" not listed (see the JSON report)."
	}
	return ev
}

func newRecommendationView(r *Recommendation) recommendationView {
	title := r.Title
	if title == "" {
		title = r.Action
	}
	return recommendationView{
		Rank:    strconv.Itoa(r.Rank),
		Title:   clean(title),
		Action:  clean(r.Action),
		Why:     clean(r.Why),
		Caution: clean(r.Caution),
		Config:  cleanLines(r.Config),
	}
}

// wiresharkPhrase says how to find session id in Wireshark: its filter in
// this capture, the conversation filter that finds it in a cut of the
// capture too (whose tcp.stream numbers differ), and the field that keeps
// the report's frame numbers in the evidence capture of "analyze
// --evidence" (frame.packet_id). nil when rep has no such session.
func wiresharkPhrase(rep *Report, id int) phrase {
	i, found := slices.BinarySearchFunc(rep.Sessions, id, func(s Session, id int) int { return cmp.Compare(s.ID, id) })
	if !found {
		return nil
	}
	s := &rep.Sessions[i]
	conv := ConversationFilter(s)
	if s.WiresharkFilter == "" || conv == "" {
		return nil
	}
	return phrase{
		{S: "Wireshark: "}, {S: clean(s.WiresharkFilter), Code: true},
		{S: " in this capture; in a cut of it, such as the evidence capture of --evidence, where stream numbers differ: "},
		{S: clean(conv), Code: true},
		{S: "; frame N above is "}, {S: "frame.packet_id == N", Code: true}, {S: " in the evidence capture."},
	}
}
