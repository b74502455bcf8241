package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// evil is what a crafted capture could put into any string of a report.
const evil = "<script>alert(1)</script> \"'><img src=x onerror=alert(1)> [x](javascript:alert(1)) ` `` | \x1b[31m red \x1b]8;;http://evil\x07link\x1b]8;;\x07\n- item\r\n# head &lt;b&gt; &#60;i&#x3e; &amp;"

// poison sets every string in the value v points to (recursively through
// structs, pointers and slices) to evil.
func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			poison(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			poison(v.Index(i))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(evil)
		}
	}
}

// poisonedReport is the affected case with a graph, every string replaced
// by evil.
func poisonedReport() *Report {
	c, r := affectedCase()
	rep := BuildWith(c, r, testTool, Extras{Series: []analyze.TimeSeq{syntheticSeries(0, ms(0), ms(95000), 50)}})
	poison(reflect.ValueOf(rep))
	return rep
}

func renderAll(t *testing.T, rep *Report) (text, md, html []byte) {
	t.Helper()
	var tb, mb, hb bytes.Buffer
	if err := WriteText(&tb, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&mb, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&hb, rep); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), mb.Bytes(), hb.Bytes()
}

func TestSafeRendering(t *testing.T) {
	rep := poisonedReport()
	if rep.Capture.Path != evil || rep.Recommendations[0].Config != evil || rep.Graphs[0].Title != evil {
		t.Fatal("poison did not reach the report")
	}
	text, md, html := renderAll(t, rep)
	checkSafe(t, text, md, html)
	if !bytes.Contains(md, []byte(`\<script>`)) || !bytes.Contains(html, []byte("&lt;script&gt;")) {
		t.Error("the escaped payload is not shown")
	}
}

// TestSafeFileName renders a real capture whose file name carries markup,
// in every format.
func TestSafeFileName(t *testing.T) {
	src := filepath.Join(testcaps.RepoRoot(t), "samples", "ctcp-proxy-stall.pcap")
	name := "x<script>alert(1)<\\script>\"'><img src=x onerror=alert(1)>](javascript:alert(1))`|\x1b[31m\x1b]8;;http:\\\\evil\x07.pcap"
	dst := filepath.Join(t.TempDir(), name)
	in, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, in, 0o644); err != nil {
		t.Skipf("cannot create a file named %q here: %v", name, err)
	}
	c, err := analyze.File(dst, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var specs []analyze.SeriesSpec
	for _, i := range res.Focus {
		specs = append(specs, analyze.SeriesSpec{Session: c.Sessions[i]})
	}
	series, err := analyze.Series(dst, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range []*Report{Build(c, res, testTool), BuildWith(c, res, testTool, Extras{Series: series})} {
		text, md, html := renderAll(t, rep)
		checkSafe(t, text, md, html)
		var js bytes.Buffer
		if err := WriteJSON(&js, rep, JSONOptions{}); err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(js.Bytes(), "\x1b\x07") {
			t.Error("JSON contains raw ESC or BEL")
		}
	}
}

var (
	mdFenceRE = regexp.MustCompile("(?ms)^(`{3,})[^\n]*\n.*?^`{3,}\\s*$")
	tagRE     = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>`)
	attrRE    = regexp.MustCompile(`\s([a-zA-Z:-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?`)
)

// htmlTags are the elements WriteHTML may write.
var htmlTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
	"header": true, "div": true, "p": true, "h1": true, "h2": true, "h3": true, "section": true,
	"table": true, "tr": true, "th": true, "td": true, "code": true, "pre": true, "ul": true, "li": true,
	"span": true, "strong": true, "figure": true, "figcaption": true, "footer": true,
	"dl": true, "dt": true, "dd": true, "br": true,
	"svg": true, "g": true, "text": true, "rect": true, "line": true, "path": true, "circle": true,
}

// htmlAttrs are the attributes WriteHTML may write.
var htmlAttrs = map[string]bool{
	"lang": true, "charset": true, "http-equiv": true, "content": true, "name": true, "class": true, "id": true,
	"viewBox": true, "width": true, "height": true, "role": true, "aria-label": true, "x": true, "y": true,
	"x1": true, "x2": true, "y1": true, "y2": true, "d": true, "cx": true, "cy": true, "r": true, "transform": true,
}

// stripMarkdownCode removes fenced code blocks and code spans from md.
func stripMarkdownCode(md string) string {
	md = mdFenceRE.ReplaceAllString(md, "")
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] == '\\' && i+1 < len(md) {
			b.WriteString(md[i : i+2])
			i += 2
			continue
		}
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		// The closing run is exactly n backticks.
		j := i + n
		closed := -1
		for j < len(md) {
			k := strings.Index(md[j:], fence)
			if k < 0 {
				break
			}
			k += j
			m := k + n
			if (m == len(md) || md[m] != '`') && (k == 0 || md[k-1] != '`') {
				closed = k
				break
			}
			for m < len(md) && md[m] == '`' {
				m++
			}
			j = m
		}
		if closed < 0 {
			b.WriteString(fence)
			i += n
			continue
		}
		i = closed + n
	}
	return b.String()
}

func checkSafe(t *testing.T, text, md, html []byte) {
	t.Helper()
	for name, out := range map[string][]byte{"text": text, "markdown": md, "html": html} {
		if i := bytes.IndexAny(out, "\x1b\x07"); i >= 0 {
			t.Errorf("%s output contains a raw ESC or BEL at %d: %q", name, i, out[max(i-20, 0):min(i+20, len(out))])
		}
	}

	prose := strings.ToLower(stripMarkdownCode(string(md)))
	if regexp.MustCompile(`(^|[^\\])\]\(`).MatchString(prose) {
		t.Error("markdown outside code has an unescaped ](")
	}
	if strings.Contains(prose, "javascript:") {
		i := strings.Index(prose, "javascript:")
		t.Errorf("markdown outside code contains %q: %q", "javascript:", prose[max(i-40, 0):min(i+40, len(prose))])
	}
	if i := unescapedIndex(prose, '<'); i >= 0 {
		t.Errorf("markdown outside code contains an unescaped <: %q", prose[max(i-40, 0):min(i+40, len(prose))])
	}
	if m := mdEntityRE.FindString(prose); m != "" {
		t.Errorf("markdown outside code contains the HTML entity %q", m)
	}
	// Table rows keep their column count: no unescaped | from the text.
	var cols int
	for _, line := range strings.Split(stripMarkdownCodeKeepPipes(string(md)), "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("markdown table row has %d cells, header %d: %q", n, cols, line)
		}
	}
	// No line of prose starts a heading, list or quote that the report
	// did not write.
	for _, line := range strings.Split(stripMarkdownCodeKeepPipes(string(md)), "\n") {
		if strings.HasPrefix(line, "- item") || strings.HasPrefix(line, "# head") {
			t.Errorf("markdown: capture text starts a line: %q", line)
		}
	}

	h := string(html)
	low := strings.ToLower(h)
	for _, bad := range []string{"<script", "<img", "<a ", "<link", "<iframe", "<object"} {
		if strings.Contains(low, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	for _, m := range tagRE.FindAllStringSubmatch(h, -1) {
		if !htmlTags[strings.ToLower(m[2])] {
			t.Errorf("HTML has an unexpected element <%s%s>", m[2], m[3])
		}
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			if !htmlAttrs[a[1]] {
				t.Errorf("HTML has an unexpected attribute %q in <%s%s>", a[1], m[2], m[3])
			}
		}
	}
	checkNoExternal(t, h)
}

// unescapedIndex returns the index of the first c in s that no backslash
// escapes (an odd number of backslashes before it), or -1.
func unescapedIndex(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
	}
	return -1
}

// mdEntityRE matches an HTML entity or character reference that
// Markdown would turn into a character.
var mdEntityRE = regexp.MustCompile(`(^|[^\\])&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)

// stripMarkdownCodeKeepPipes removes fenced blocks only (inline code in a
// table cell still needs its | escaped).
func stripMarkdownCodeKeepPipes(md string) string { return mdFenceRE.ReplaceAllString(md, "") }

// urlAttrs are the attributes that load or link to a URL.
var urlAttrs = map[string]bool{"src": true, "href": true, "xlink:href": true, "action": true, "formaction": true,
	"srcset": true, "poster": true, "data": true, "background": true, "ping": true}

var styleRE = regexp.MustCompile(`(?is)<style>(.*?)</style>`)

// checkNoExternal asserts that html refers to nothing outside itself: any
// URL attribute of any element is "#..." or a data: URL, and the CSS has
// no @import and no url() other than those.
func checkNoExternal(t *testing.T, html string) {
	t.Helper()
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			if !urlAttrs[strings.ToLower(a[1])] {
				continue
			}
			v := strings.Trim(a[2], `"'`)
			if !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
				t.Errorf("HTML refers outside the file: <%s ... %s>", m[2], a[0])
			}
		}
		if strings.Contains(strings.ToLower(m[3]), "url(") {
			t.Errorf("HTML attribute with url(): <%s%s>", m[2], m[3])
		}
	}
	for _, st := range styleRE.FindAllStringSubmatch(html, -1) {
		css := strings.ToLower(st[1])
		if strings.Contains(css, "@import") {
			t.Error("HTML CSS has @import")
		}
		for _, m := range regexp.MustCompile(`url\(([^)]*)\)`).FindAllStringSubmatch(css, -1) {
			v := strings.Trim(m[1], `"' `)
			if !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
				t.Errorf("HTML CSS refers outside the file: %s", m[0])
			}
		}
	}
}

func TestStripMarkdownCode(t *testing.T) {
	for in, want := range map[string]string{
		"a `b` c":                      "a  c",
		"a ``b`c`` d":                  "a  d",
		"a ` b":                        "a ` b",
		"x\n```text\n<script>\n```\ny": "x\n\ny",
	} {
		if got := stripMarkdownCode(in); got != want {
			t.Errorf("stripMarkdownCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMdCode checks code spans and fences against backtick runs.
func TestMdCode(t *testing.T) {
	for in, want := range map[string]string{
		"a":      "`a`",
		"a`b":    "``a`b``",
		"`x":     "`` `x ``",
		"a|b":    "`a\\|b`",
		"a\x1bb": "`a\\x1bb`",
		"":       "",
	} {
		if got := mdCode(in, true); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mdFence([]string{"a", "x ```` y"}); !strings.HasPrefix(got, "`````text\n") || !strings.HasSuffix(got, "\n`````\n") {
		t.Errorf("mdFence = %q", got)
	}
}

func TestMdText(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, 1.2.3.4:500 (x)":   "plain words, 1.2.3.4:500 (x)",
		"reply: blocked":                 "reply: blocked",
		"javascript:alert(1)":            "javascript\\:alert(1)",
		"<b>&":                           "\\<b>&",
		"a < b > c & d":                  "a \\< b > c & d",
		"&amp; &#38; &#x26; AT&T &;":     "\\&amp; \\&\\#38; \\&\\#x26; AT&T &;",
		"> quote":                        "\\> quote",
		"a -> b":                         "a -> b",
		"- item":                         "\\- item",
		"12. item":                       "12\\. item",
		"a *b* _c_ [d](e) #f !g ~h | \\": "a \\*b\\* \\_c\\_ \\[d\\](e) \\#f \\!g \\~h \\| \\\\",
		"line\nbreak":                    "line\\\\x0abreak",
	} {
		if got := mdText(in); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
}

// syntheticSeries is a long session's picture: n buckets per direction of
// steadily growing data with some resent buckets, and ACKs.
func syntheticSeries(session int, start, end int64, n int) analyze.TimeSeq {
	ts := analyze.TimeSeq{Session: session, Start: start, End: end}
	span := end - start
	for d := range 2 {
		var seq int64 = 1
		for i := range n {
			t := start + span*int64(i)/int64(n)
			step := int64(1380 * (40 + 37*d + i%7))
			b := analyze.SeqBucket{From: t, To: t + span/int64(n)/2, Lo: seq, Hi: seq + step, Segments: 40 + i%7}
			if i%50 == 17 {
				b.Resent = 2
				b.Lo -= 2760
			}
			ts.Data[d] = append(ts.Data[d], b)
			ts.Acks[1-d] = append(ts.Acks[1-d], analyze.AckPoint{Time: t + span/int64(n)/2, Ack: seq + step/2})
			seq += step
		}
	}
	return ts
}

// largeReport is a report with one graph of a session of about 100,000
// packets: 600 buckets each way and the maximum number of retransmit
// requests.
func largeReport() *Report {
	c, r := affectedCase()
	s := c.Sessions[0]
	s.Packets, s.LastFrame = 100000, 100000
	sr := &r.Sessions[0]
	for i := range analyze.MaxRequests - len(sr.Requests) {
		run := &analyze.DupAckRun{By: analyze.Dir(i % 2), Ack: uint32(1 + 1380*i*97), Count: 3,
			Frames:    []uint64{uint64(1000 + 190*i), uint64(1001 + 190*i), uint64(1002 + 190*i)},
			FirstTime: ms(int64(i) * 180), LastTime: ms(int64(i)*180 + 2)}
		ans := detect.Answered
		if i%60 == 59 {
			ans = detect.Unanswered
		}
		sr.Requests = append(sr.Requests, detect.Request{Run: run, Answer: ans, Why: "synthetic"})
	}
	return BuildWith(c, r, testTool, Extras{Series: []analyze.TimeSeq{syntheticSeries(0, ms(0), ms(95000), analyze.SeriesBuckets)}})
}

// TestLargeGraphSize keeps the HTML report of a 100,000-packet session
// small.
func TestLargeGraphSize(t *testing.T) {
	rep := largeReport()
	var html, md bytes.Buffer
	if err := WriteHTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("HTML %d bytes, Markdown %d bytes", html.Len(), md.Len())
	if html.Len() > 300<<10 {
		t.Errorf("HTML report of a large session is %d bytes, want < 300 KB", html.Len())
	}
	checkNoExternal(t, html.String())
}

func TestWriteErrorsMarkdownHTML(t *testing.T) {
	rep := largeReport()
	if err := WriteMarkdown(errWriter{}, rep); err == nil {
		t.Error("WriteMarkdown to a failing writer: no error")
	}
	if err := WriteHTML(errWriter{}, rep); err == nil {
		t.Error("WriteHTML to a failing writer: no error")
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	rep := largeReport()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteMarkdown(b *testing.B) {
	rep := largeReport()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteMarkdown(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
}
