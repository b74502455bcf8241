package pipeline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/report"
)

var tool = report.Tool{Name: "ctcpdiag", Version: "test"}

// sample writes the generated sample capture name to a temporary file and
// returns its path and bytes.
func sample(t *testing.T, name string) (string, []byte) {
	t.Helper()
	for _, sc := range samplegen.Scenarios() {
		if sc.Name != name {
			continue
		}
		b, err := sc.Build()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), sc.File)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p, b
	}
	t.Fatalf("no sample %q", name)
	return "", nil
}

func run(t *testing.T, in Input, opts Options) Result {
	t.Helper()
	res, err := Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report == nil || res.DetectErr != nil {
		t.Fatalf("Run = %+v", res)
	}
	return res
}

func same(t *testing.T, what string, got, want *report.Report) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the reports differ", what)
	}
}

// TestRunIsTheStages checks that Run builds what the stages build when
// called one after another.
func TestRunIsTheStages(t *testing.T) {
	path, _ := sample(t, "ctcp-proxy-stall")
	c, err := analyze.File(path, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := report.Build(c, res, tool)
	if want.Verdict != string(detect.Affected) {
		t.Fatalf("verdict %q, want affected", want.Verdict)
	}
	same(t, "file", run(t, Input{Path: path, File: path}, Options{Tool: tool}).Report, want)
	same(t, "Report", Report(c, Input{Path: path}, Options{Tool: tool}).Report, want)
}

// TestReaderAndCopy checks that bytes read once and a copy read under
// another name give the same report, named as the input.
func TestReaderAndCopy(t *testing.T) {
	path, b := sample(t, "ctcp-proxy-stall")
	once := run(t, Input{Path: "-", R: bytes.NewReader(b)}, Options{Tool: tool}).Report
	copied := run(t, Input{Path: "-", File: path}, Options{Tool: tool}).Report
	if once.Capture.Path != "-" {
		t.Errorf("capture.path = %q, want -", once.Capture.Path)
	}
	same(t, "copy", copied, once)
}

// TestGraphs checks that the graphs are drawn from a second read, and that
// a capture read once still gets its report, with the same evidence
// frames: they need no second read.
func TestGraphs(t *testing.T) {
	path, b := sample(t, "ctcp-proxy-stall")
	opts := Options{Tool: tool, Graphs: true}
	graphed := run(t, Input{Path: path, File: path}, opts)
	if graphed.GraphErr != nil || len(graphed.Report.Graphs) == 0 {
		t.Errorf("file: %d graphs, error %v; want some, no error", len(graphed.Report.Graphs), graphed.GraphErr)
	}
	if len(graphed.Report.Evidence) == 0 || len(graphed.Report.Evidence[0].Rows) == 0 {
		t.Fatal("no evidence frames for an affected capture")
	}
	res := run(t, Input{Path: "-", R: bytes.NewReader(b)}, opts)
	if !errors.Is(res.GraphErr, errReadOnce) || len(res.Report.Graphs) != 0 {
		t.Errorf("read once: %d graphs, error %v; want none, %v", len(res.Report.Graphs), res.GraphErr, errReadOnce)
	}
	plain := run(t, Input{Path: path, File: path}, Options{Tool: tool}).Report
	if len(plain.Graphs) != 0 {
		t.Error("graphs drawn without Options.Graphs")
	}
	for what, rep := range map[string]*report.Report{"read once": res.Report, "without Options.Graphs": plain} {
		if !reflect.DeepEqual(rep.Evidence, graphed.Report.Evidence) {
			t.Errorf("%s: the evidence differs from the graphed report's", what)
		}
	}
}

// TestMapper checks that the report is anonymized as report.Anonymize
// does it.
func TestMapper(t *testing.T) {
	path, _ := sample(t, "ctcp-proxy-stall")
	plain := run(t, Input{Path: path, File: path}, Options{Tool: tool}).Report
	key := anon.KeyFromString("k")
	got := run(t, Input{Path: path, File: path}, Options{Tool: tool, Mapper: anon.NewMapper(key)}).Report
	same(t, "anonymized", got, report.Anonymize(plain, anon.NewMapper(key)))
	if reflect.DeepEqual(got.Sessions, plain.Sessions) {
		t.Error("the sessions kept their addresses")
	}
}

// TestNotCapture checks that an unreadable input is Run's error.
func TestNotCapture(t *testing.T) {
	res, err := Run(Input{Path: "x.txt", R: bytes.NewReader([]byte("not a capture at all"))}, Options{})
	if !errors.Is(err, capfile.ErrNotCapture) || res.Report != nil {
		t.Errorf("Run = %+v, %v; want no report, %v", res, err, capfile.ErrNotCapture)
	}
}
