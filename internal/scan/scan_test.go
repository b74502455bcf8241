package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testcaps.RepoRoot(t), "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verdictOf returns the verdict internal/testkit/samplegen expects for the
// committed sample name.
func verdictOf(t testing.TB, name string) string {
	t.Helper()
	for _, s := range samplegen.Scenarios() {
		if s.File == name {
			return s.Expect
		}
	}
	t.Fatalf("%s is not a samplegen scenario", name)
	return ""
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type entry struct {
	name string
	data []byte
}

func tarball(t testing.TB, compress bool, ents ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if compress {
		return gz(t, buf.Bytes())
	}
	return buf.Bytes()
}

func zipball(t testing.TB, ents ...entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// want is the expected outcome of one input: a verdict, "unreadable" or
// "skipped".
type want map[string]string

// buildTree makes the test archive tree under a new temporary directory
// and returns it with the expected outcome of every input, by path
// relative to the root.
func buildTree(t *testing.T) (string, want) {
	root := t.TempDir()
	w := want{}
	put := func(rel string, data []byte, outcome string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if outcome != "" {
			w[rel] = outcome
		}
	}
	// The committed samples' verdicts are the ones samplegen expects.
	v := func(name string) string { return verdictOf(t, name) }
	stall := sample(t, "ctcp-proxy-stall.pcap")
	put("good/ctcp-healthy.pcap", sample(t, "ctcp-healthy.pcap"), v("ctcp-healthy.pcap"))
	put("good/natt.pcap", sample(t, "natt.pcap"), v("natt.pcap"))
	put("good/deeper/esp.pcap", sample(t, "esp.pcap"), v("esp.pcap"))
	put("good/loss.pcap.gz", gz(t, sample(t, "ctcp-loss-no-proxy.pcap")), v("ctcp-loss-no-proxy.pcap"))
	put("bad/ctcp-proxy-stall.pcap", stall, v("ctcp-proxy-stall.pcap"))
	put("bad/port8000.cap", sample(t, "ctcp-port-8000.pcap"), v("ctcp-port-8000.pcap"))
	put("bad/snap96.pcapng", sample(t, "ctcp-two-interfaces-snap96.pcapng"), v("ctcp-two-interfaces-snap96.pcapng"))
	put("at-risk/resegmented.pcap.gz", gz(t, sample(t, "ctcp-proxy-resegmented.pcap")), v("ctcp-proxy-resegmented.pcap"))
	// A capture cut short part-way is analyzed up to the damage, with a
	// warning; one cut in its file header cannot be read. The first half
	// of ctcp-proxy-stall.pcap ends at frame 77 of 146, during the ESP
	// download and before the lost segment (frame 116) and the duplicate
	// ACKs (frames 132-134, samples/README.md): loss-free cTCP with data
	// flowing at the cut, hence healthy (typed here: this input is not a
	// samplegen scenario).
	put("damaged/cut.pcap", stall[:len(stall)/2], "healthy")
	put("damaged/header.pcap", stall[:12], "unreadable")
	put("damaged/empty.pcap", nil, "unreadable")
	put("misc/empty.dat", nil, "skipped")
	put("misc/notes.txt", []byte("call the customer\n"), "skipped")
	put("archives/customer.tar.gz", tarball(t, true,
		entry{"inner/reset.pcap", sample(t, "ctcp-proxy-reset.pcap")},
		entry{"inner/stall.pcap.gz", gz(t, stall)},
		entry{"inner/anyconnect", sample(t, "anyconnect.pcap")},
		entry{"README", []byte("captures from the customer\n")},
	), "")
	w["archives/customer.tar.gz:inner/reset.pcap"] = v("ctcp-proxy-reset.pcap")
	w["archives/customer.tar.gz:inner/stall.pcap.gz"] = v("ctcp-proxy-stall.pcap")
	w["archives/customer.tar.gz:inner/anyconnect"] = v("anyconnect.pcap")
	w["archives/customer.tar.gz:README"] = "skipped"
	put("archives/ticket.zip", zipball(t,
		entry{"z/oneway.pcap", sample(t, "ctcp-oneway-stall.pcap")},
		entry{"z/ikev2.pcap", sample(t, "ike-tcp-rfc8229.pcap")},
		entry{"z/nested.tar", tarball(t, false, entry{"dupack.pcap", sample(t, "tcp-dupack-answered.pcap")})},
		entry{"z/broken.pcap", []byte("<html>expired link</html>")},
	), "")
	w["archives/ticket.zip:z/oneway.pcap"] = v("ctcp-oneway-stall.pcap")
	w["archives/ticket.zip:z/ikev2.pcap"] = v("ike-tcp-rfc8229.pcap")
	w["archives/ticket.zip:z/nested.tar:dupack.pcap"] = v("tcp-dupack-answered.pcap")
	w["archives/ticket.zip:z/broken.pcap"] = "unreadable"
	put("archives/bad.tgz", []byte("this is not gzip"), "unreadable")

	// A symbolic-link loop, a broken link, a named pipe.
	if err := os.Symlink("..", filepath.Join(root, "good", "loop")); err != nil {
		t.Fatal(err)
	}
	w["good/loop"] = "skipped"
	if err := os.Symlink("nowhere.pcap", filepath.Join(root, "misc", "gone.pcap")); err != nil {
		t.Fatal(err)
	}
	w["misc/gone.pcap"] = "unreadable"
	if err := mkfifo(filepath.Join(root, "misc", "pipe.pcap")); err == nil {
		w["misc/pipe.pcap"] = "unreadable"
	} else {
		t.Logf("no named pipe: %v", err)
	}
	// An unreadable file: permissions do not stop root, so only check
	// it for other users.
	if os.Geteuid() != 0 {
		put("misc/noperm.pcap", stall, "unreadable")
		if err := os.Chmod(filepath.Join(root, "misc", "noperm.pcap"), 0); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("running as root: the chmod 000 case is not checked (the broken link and the named pipe stand in for it)")
	}
	return root, w
}

// collector is a Writer that keeps the results.
type collector struct{ res []*Result }

func (c *collector) Write(r *Result) error { c.res = append(c.res, r); return nil }
func (c *collector) Finish(*Summary) error { return nil }

func scanTo(t *testing.T, ctx context.Context, paths []string, opts Options, format string) (string, *Summary) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(format, &buf, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Scan(ctx, paths, opts, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(sum); err != nil {
		t.Fatal(err)
	}
	return buf.String(), sum
}

func TestScanTree(t *testing.T) {
	root, expect := buildTree(t)
	var c collector
	sum, err := Scan(context.Background(), []string{root}, Options{Jobs: 2}, &c)
	if err != nil {
		t.Fatal(err)
	}
	got := want{}
	var paths []string
	for _, r := range c.res {
		rel := strings.TrimPrefix(r.Path, root+string(filepath.Separator))
		paths = append(paths, r.Path)
		switch r.Kind {
		case KindCapture:
			got[rel] = r.Report.Verdict
			if r.Report.Capture.Path != r.Path {
				t.Errorf("%s: report path %q", rel, r.Report.Capture.Path)
			}
			if rel == "damaged/cut.pcap" && !slices.ContainsFunc(r.Report.Capture.Warnings, func(w string) bool { return strings.Contains(w, "damaged") }) {
				t.Errorf("%s: warnings %q", rel, r.Report.Capture.Warnings)
			}
		case KindUnreadable:
			got[rel] = "unreadable"
			t.Logf("%s: %s", rel, r.Error)
		default:
			got[rel] = "skipped"
			t.Logf("%s: skipped: %s", rel, r.Reason)
		}
	}
	if d := cmp.Diff(expect, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if !slices.IsSorted(paths) {
		t.Errorf("results not sorted by path: %q", paths)
	}
	// The summary adds up.
	counts := map[string]int{}
	for _, v := range expect {
		counts[v]++
	}
	if sum.Files() != len(expect) || sum.Unreadable != counts["unreadable"] || sum.Skipped != counts["skipped"] {
		t.Errorf("summary: %d inputs, %d unreadable, %d skipped; want %d, %d, %d",
			sum.Files(), sum.Unreadable, sum.Skipped, len(expect), counts["unreadable"], counts["skipped"])
	}
	total := 0
	for v, n := range sum.Verdicts {
		total += n
		if n != counts[v] {
			t.Errorf("verdict %s: %d, want %d", v, n, counts[v])
		}
	}
	if total != sum.Captures {
		t.Errorf("verdicts add up to %d, captures %d", total, sum.Captures)
	}
	if len(sum.Failures) != sum.Unreadable {
		t.Errorf("%d failures listed for %d unreadable", len(sum.Failures), sum.Unreadable)
	}
	if sum.Interrupted {
		t.Error("interrupted")
	}
}

func TestJobsSameOutput(t *testing.T) {
	root, _ := buildTree(t)
	for _, format := range Formats {
		one, _ := scanTo(t, context.Background(), []string{root}, Options{Jobs: 1}, format)
		for _, jobs := range []int{2, 5} {
			many, _ := scanTo(t, context.Background(), []string{root}, Options{Jobs: jobs}, format)
			if one != many {
				t.Errorf("%s: --jobs 1 and --jobs %d differ:\n%s", format, jobs, cmp.Diff(one, many))
			}
		}
	}
	// Each jsonl line is one compact object: a report or an error/skip.
	out, _ := scanTo(t, context.Background(), []string{root}, Options{Jobs: 2}, "jsonl")
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		if _, ok := m["schema"]; !ok && m["error"] == nil && m["skipped"] == nil {
			t.Errorf("line is neither a report nor an error: %s", l)
		}
	}
}

func TestShardsMerge(t *testing.T) {
	root, _ := buildTree(t)
	whole, wholeSum := scanTo(t, context.Background(), []string{root}, Options{Jobs: 2}, "jsonl")
	var inputs []Input
	n := 0
	for k := 1; k <= 3; k++ {
		part, sum := scanTo(t, context.Background(), []string{root}, Options{Jobs: 2, Shard: Shard{K: k, N: 3}}, "jsonl")
		n += sum.Files()
		inputs = append(inputs, Input{Name: "shard", R: strings.NewReader(part)})
	}
	if n != wholeSum.Files() {
		t.Errorf("shards hold %d inputs, the whole scan %d", n, wholeSum.Files())
	}
	for _, format := range Formats {
		want, _ := scanTo(t, context.Background(), []string{root}, Options{Jobs: 2}, format)
		var parts []Input
		for _, in := range inputs {
			s := in.R.(*strings.Reader)
			s.Seek(0, 0)
			parts = append(parts, Input{Name: in.Name, R: s})
		}
		var buf bytes.Buffer
		w, _ := NewWriter(format, &buf, WriterOptions{})
		sum, err := Merge(parts, w)
		if err != nil {
			t.Fatal(err)
		}
		w.Finish(sum)
		if d := cmp.Diff(want, buf.String()); d != "" {
			t.Errorf("%s: merged shards differ from one scan (-scan +merge):\n%s", format, d)
		}
	}
	_ = whole
}

func TestShard(t *testing.T) {
	for _, bad := range []string{"", "0/3", "4/3", "1/0", "a/b", "1", "1/3/4"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	s, err := ParseShard("2/3")
	if err != nil || s != (Shard{2, 3}) {
		t.Fatalf("ParseShard(2/3) = %v, %v", s, err)
	}
	// Every path is in exactly one shard.
	for i := range 1000 {
		p := "archive.tgz:dir/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".pcap"
		in := 0
		for k := 1; k <= 3; k++ {
			if (Shard{k, 3}).Has(p) {
				in++
			}
		}
		if in != 1 {
			t.Fatalf("%s in %d shards", p, in)
		}
	}
}

func TestGlob(t *testing.T) {
	root, expect := buildTree(t)
	var c collector
	sum, err := Scan(context.Background(), []string{filepath.Join(root, "bad", "*.pcap*"), filepath.Join(root, "none", "*.pcap")}, Options{Jobs: 2}, &c)
	if err != nil {
		t.Fatal(err)
	}
	// The affected captures the first pattern matches, by the tree's
	// expected verdicts; the second pattern matches nothing (unreadable).
	affected := 0
	for rel, v := range expect {
		if ok, _ := filepath.Match("bad/*.pcap*", rel); ok && v == "affected" {
			affected++
		}
	}
	if affected == 0 {
		t.Fatal("the glob matches no affected capture in the tree")
	}
	if sum.Count("affected") != affected || sum.Unreadable != 1 {
		t.Errorf("glob: %d affected, %d unreadable; want %d and 1 (no match)", sum.Count("affected"), sum.Unreadable, affected)
	}
	if _, err := Scan(context.Background(), []string{"[bad"}, Options{}, &c); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}

// cancelWriter cancels the scan at its first result.
type cancelWriter struct {
	collector
	cancel context.CancelFunc
}

func (c *cancelWriter) Write(r *Result) error {
	c.cancel()
	return c.collector.Write(r)
}

func TestInterrupt(t *testing.T) {
	root, expect := buildTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelWriter{cancel: cancel}
	sum, err := Scan(ctx, []string{root}, Options{Jobs: 1}, w)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted {
		t.Error("not marked interrupted")
	}
	if sum.Files() == 0 || sum.Files() >= len(expect) {
		t.Errorf("%d results after an interruption (of %d)", sum.Files(), len(expect))
	}
	paths := make([]string, len(w.res))
	for i, r := range w.res {
		paths[i] = r.Path
	}
	if !slices.IsSorted(paths) {
		t.Errorf("not sorted: %q", paths)
	}
}
