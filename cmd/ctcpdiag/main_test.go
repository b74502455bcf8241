package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) {
	versionFunc = func() string { return "test" }
	os.Exit(m.Run())
}

// runArgs runs ctcpdiag with args and returns the exit status and the two
// output streams.
func runArgs(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestParseArgs(t *testing.T) {
	def := func(files ...string) *Options {
		return &Options{Command: cmdAnalyze, Files: files, Format: "text", DupAcks: 2, Color: "auto"}
	}
	tests := []struct {
		name    string
		args    []string
		want    *Options
		wantErr string // substring of the usage error
	}{
		{name: "defaults", args: []string{"analyze", "a.pcap"}, want: def("a.pcap")},
		{name: "stdin", args: []string{"analyze", "-"}, want: def("-")},
		{name: "flags after files", args: []string{"analyze", "a.pcap", "--format", "json", "b.pcap", "-o", "out.json"},
			want: &Options{Command: cmdAnalyze, Files: []string{"a.pcap", "b.pcap"}, Format: "json", Output: "out.json", DupAcks: 2, Color: "auto"}},
		{name: "all flags", args: []string{"analyze", "--port", "10001", "-port=443", "--dupacks", "3", "--color=never", "--max-flows", "100", "x.pcapng.gz"},
			want: &Options{Command: cmdAnalyze, Files: []string{"x.pcapng.gz"}, Format: "text", Ports: []uint16{10001, 443}, DupAcks: 3, Color: "never", MaxFlows: 100}},
		{name: "double dash", args: []string{"analyze", "--format", "json", "--", "-odd-name.pcap", "--port"},
			want: &Options{Command: cmdAnalyze, Files: []string{"-odd-name.pcap", "--port"}, Format: "json", DupAcks: 2, Color: "auto"}},
		{name: "version", args: []string{"version"}, want: &Options{Command: cmdVersion}},
		{name: "--version", args: []string{"--version"}, want: &Options{Command: cmdVersion}},
		{name: "-version", args: []string{"-version"}, want: &Options{Command: cmdVersion}},
		{name: "-V", args: []string{"-V"}, want: &Options{Command: cmdVersion}},
		{name: "--version --help", args: []string{"--version", "--help"}, want: &Options{Command: cmdHelp, Usage: versionUsage}},
		{name: "help", args: []string{"help"}, want: &Options{Command: cmdHelp, Usage: mainUsage}},
		{name: "--help", args: []string{"--help"}, want: &Options{Command: cmdHelp, Usage: mainUsage}},
		{name: "-h", args: []string{"-h"}, want: &Options{Command: cmdHelp, Usage: mainUsage}},
		{name: "help analyze", args: []string{"help", "analyze"}, want: &Options{Command: cmdHelp, Usage: analyzeUsage}},
		{name: "analyze --help", args: []string{"analyze", "--help"}, want: &Options{Command: cmdHelp, Usage: analyzeUsage}},
		{name: "analyze file -h", args: []string{"analyze", "a.pcap", "-h"}, want: &Options{Command: cmdHelp, Usage: analyzeUsage}},
		{name: "version --help", args: []string{"version", "--help"}, want: &Options{Command: cmdHelp, Usage: versionUsage}},

		{name: "no command", args: nil, wantErr: "no command given"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
		{name: "help unknown", args: []string{"help", "frob"}, wantErr: `unknown command "frob"`},
		{name: "flag before command", args: []string{"--format", "json"}, wantErr: "flag --format given before a command"},
		{name: "version args", args: []string{"version", "x"}, wantErr: "version takes no arguments"},
		{name: "--version args", args: []string{"--version", "x"}, wantErr: "version takes no arguments"},
		{name: "no files", args: []string{"analyze"}, wantErr: "no capture file given"},
		{name: "bad format", args: []string{"analyze", "--format", "xml", "a.pcap"}, wantErr: `invalid --format "xml": want text, json, markdown or html`},
		{name: "markdown", args: []string{"analyze", "--format", "markdown", "a.pcap", "b.pcap"},
			want: &Options{Command: cmdAnalyze, Files: []string{"a.pcap", "b.pcap"}, Format: "markdown", DupAcks: 2, Color: "auto"}},
		{name: "html", args: []string{"analyze", "--format=html", "a.pcap"},
			want: &Options{Command: cmdAnalyze, Files: []string{"a.pcap"}, Format: "html", DupAcks: 2, Color: "auto"}},
		{name: "html takes one file", args: []string{"analyze", "--format=html", "a.pcap", "b.pcap"}, wantErr: "--format html makes one self-contained page per capture"},
		{name: "anonymize", args: []string{"analyze", "--anonymize", "a.pcap"},
			want: &Options{Command: cmdAnalyze, Files: []string{"a.pcap"}, Format: "text", DupAcks: 2, Color: "auto", Anonymize: true}},
		{name: "anon key implies anonymize", args: []string{"analyze", "--anon-key", "s3cret", "a.pcap"},
			want: &Options{Command: cmdAnalyze, Files: []string{"a.pcap"}, Format: "text", DupAcks: 2, Color: "auto", Anonymize: true, AnonKey: "s3cret"}},
		{name: "port zero", args: []string{"analyze", "--port", "0", "a.pcap"}, wantErr: `invalid value "0" for flag -port`},
		{name: "port too big", args: []string{"analyze", "--port", "65536", "a.pcap"}, wantErr: `invalid value "65536" for flag -port`},
		{name: "port not a number", args: []string{"analyze", "--port", "https", "a.pcap"}, wantErr: "want a port number from 1 to 65535"},
		{name: "dupacks zero", args: []string{"analyze", "--dupacks", "0", "a.pcap"}, wantErr: "invalid --dupacks 0: want at least 1"},
		{name: "threads negative", args: []string{"analyze", "--threads", "-1", "a.pcap"}, wantErr: "--threads -1: want a number of cores, at least 1 (0: all)"},
		{name: "dupacks not a number", args: []string{"analyze", "--dupacks", "two", "a.pcap"}, wantErr: `invalid value "two" for flag -dupacks`},
		{name: "bad color", args: []string{"analyze", "--color", "sometimes", "a.pcap"}, wantErr: `invalid --color "sometimes"`},
		{name: "negative max flows", args: []string{"analyze", "--max-flows", "-1", "a.pcap"}, wantErr: "invalid --max-flows -1"},
		{name: "unknown flag", args: []string{"analyze", "--verbose", "a.pcap"}, wantErr: "flag provided but not defined: -verbose"},
		{name: "missing flag value", args: []string{"analyze", "a.pcap", "-o"}, wantErr: "flag needs an argument: -o"},
		{name: "stdin twice", args: []string{"analyze", "-", "-"}, wantErr: "standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parseArgs(%q) = %+v, want error %q", tt.args, got, tt.wantErr)
				}
				if _, ok := err.(*usageError); !ok {
					t.Errorf("error %T, want *usageError", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseArgs(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestUsageErrorExit(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "--format", "xml", "a.pcap"},
		{"analyze", "--port", "70000", "a.pcap"},
		{"analyze", "--bogus", "a.pcap"},
		{"analyze", "--format", "html", "a.pcap", "b.pcap"},
		{},
		{"nope"},
	} {
		code, stdout, stderr := runArgs(t, nil, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if stdout != "" {
			t.Errorf("%q: stdout %q, want nothing", args, stdout)
		}
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "ctcpdiag: ") || !strings.HasPrefix(lines[1], "Run \"ctcpdiag help") {
			t.Errorf("%q: stderr %q, want a message and a hint", args, stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, mainUsage},
		{[]string{"-h"}, mainUsage},
		{[]string{"help"}, mainUsage},
		{[]string{"help", "analyze"}, analyzeUsage},
		{[]string{"analyze", "--help"}, analyzeUsage},
		{[]string{"analyze", "-h"}, analyzeUsage},
		{[]string{"analyze", "x.pcap", "--format", "json", "--help"}, analyzeUsage},
		{[]string{"version", "--help"}, versionUsage},
		{[]string{"help", "version"}, versionUsage},
		{[]string{"help", "help"}, mainUsage},
	}
	for _, tt := range tests {
		code, stdout, stderr := runArgs(t, nil, tt.args...)
		if code != 0 || stdout != tt.want || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and the usage", tt.args, code, stdout, stderr)
		}
	}
}

// TestVersion: "version", "--version", "-version" and "-V" print exactly
// the same line and exit 0.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version", "-V"} {
		code, stdout, stderr := runArgs(t, nil, arg)
		if code != 0 || stdout != "ctcpdiag test\n" || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
	if v := buildVersion(); v == "" {
		t.Error("buildVersion returned an empty string")
	}
}

func TestUseColor(t *testing.T) {
	tests := []struct {
		mode, output, noColor string
		terminal              bool
		want                  bool
	}{
		{"auto", "", "", true, true},
		{"auto", "", "", false, false},
		{"auto", "", "1", true, false},
		{"auto", "", "", true, true}, // NO_COLOR set but empty counts as unset
		{"auto", "out.txt", "", true, false},
		{"always", "", "1", false, true},
		{"always", "out.txt", "", false, true},
		{"never", "", "", true, false},
	}
	for _, tt := range tests {
		e := &env{
			stdout:     io.Discard,
			getenv:     func(k string) string { return map[string]string{"NO_COLOR": tt.noColor}[k] },
			isTerminal: func(io.Writer) bool { return tt.terminal },
		}
		if got := useColor(tt.mode, tt.output, e); got != tt.want {
			t.Errorf("useColor(%q, %q) with NO_COLOR=%q, terminal %v = %v, want %v", tt.mode, tt.output, tt.noColor, tt.terminal, got, tt.want)
		}
	}
}

// TestColorOutput runs a whole analysis: colour only where asked for.
func TestColorOutput(t *testing.T) {
	capture := tinyPcap()
	tests := []struct {
		args     []string
		noColor  string
		terminal bool
		want     bool
	}{
		{[]string{"analyze", "-"}, "", true, true},
		{[]string{"analyze", "-"}, "1", true, false},
		{[]string{"analyze", "-"}, "", false, false},
		{[]string{"analyze", "--color", "always", "-"}, "1", false, true},
		{[]string{"analyze", "--color", "never", "-"}, "", true, false},
		{[]string{"analyze", "--format", "json", "--color", "always", "-"}, "", true, false},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		e := &env{
			stdin:      bytes.NewReader(capture),
			stdout:     &stdout,
			stderr:     &stderr,
			getenv:     func(k string) string { return map[string]string{"NO_COLOR": tt.noColor}[k] },
			isTerminal: func(io.Writer) bool { return tt.terminal },
		}
		code := runEnv(tt.args, e)
		if code == 2 {
			t.Fatalf("%q: exit 2, stderr %q", tt.args, stderr.String())
		}
		if got := strings.Contains(stdout.String(), "\x1b["); got != tt.want {
			t.Errorf("%q NO_COLOR=%q terminal=%v: coloured %v, want %v", tt.args, tt.noColor, tt.terminal, got, tt.want)
		}
	}
}

func TestExitStatus(t *testing.T) {
	bad := outcome{err: os.ErrNotExist}
	tests := []struct {
		name     string
		outcomes []outcome
		writeErr error
		want     int
	}{
		{"nothing", nil, nil, 2},
		{"all unreadable", []outcome{bad, bad}, nil, 2},
		{"healthy", []outcome{{verdict: "healthy"}}, nil, 0},
		{"at-risk and inconclusive", []outcome{{verdict: "at-risk"}, {verdict: "inconclusive"}, {verdict: "no-ctcp"}}, nil, 0},
		{"affected", []outcome{{verdict: "healthy"}, {verdict: "affected"}}, nil, 1},
		{"unreadable and healthy", []outcome{bad, {verdict: "healthy"}}, nil, 2},
		{"unreadable and affected: 2 wins", []outcome{{verdict: "affected"}, bad}, nil, 2},
		{"write error", []outcome{{verdict: "affected"}}, os.ErrPermission, 2},
	}
	for _, tt := range tests {
		if got := exitStatus(tt.outcomes, tt.writeErr); got != tt.want {
			t.Errorf("%s: exitStatus = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// badInputs writes the unreadable inputs into dir and returns their paths
// by name.
func badInputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i>>3)
	}
	files := map[string][]byte{
		"empty.pcap":  nil,
		"random.pcap": random,
		"text.pcap":   []byte("this is not a capture\nreally not\n"),
	}
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	paths["missing.pcap"] = filepath.Join(dir, "missing.pcap")
	paths["directory"] = filepath.Join(dir, "adir")
	if err := os.Mkdir(paths["directory"], 0o755); err != nil {
		t.Fatal(err)
	}
	return paths
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	paths := badInputs(t, dir)
	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "secret.pcap")
		if err := os.WriteFile(p, tinyPcap(), 0o000); err != nil {
			t.Fatal(err)
		}
		paths["permission denied"] = p
	} else {
		t.Log("running as root: skipping the permission-denied input (root can read it)")
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			for _, format := range []string{"text", "json"} {
				code, stdout, stderr := runArgs(t, nil, "analyze", "--format", format, path)
				if code != 2 {
					t.Errorf("exit %d, want 2", code)
				}
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
				if !strings.HasPrefix(stderr, "ctcpdiag: "+path+": ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
					t.Errorf("stderr %q, want one line naming %s", stderr, path)
				}
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		code, stdout, stderr := runArgs(t, []byte("garbage"), "analyze", "-")
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "ctcpdiag: -: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

// TestMixedInputs: an unreadable file among readable ones is named on
// stderr, the readable ones are reported, and the exit status is 2.
func TestMixedInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	if err := os.WriteFile(good, tinyPcap(), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")

	code, stdout, stderr := runArgs(t, nil, "analyze", "--format", "json", good, missing, good)
	if code != 2 {
		t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
	}
	if !strings.HasPrefix(stderr, "ctcpdiag: "+missing+": ") {
		t.Errorf("stderr %q, want the missing file named", stderr)
	}
	// One JSON object per readable capture, one after the other.
	dec := json.NewDecoder(strings.NewReader(stdout))
	n := 0
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("object %d: %v", n, err)
		}
		if m["schema"] != "ctcpdiag.report/v1" {
			t.Errorf("object %d: schema %v", n, m["schema"])
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d JSON objects, want 2", n)
	}

	code, stdout, _ = runArgs(t, nil, "analyze", good, good)
	if code != 0 || strings.Count(stdout, "\nCapture\n") != 2 ||
		!strings.HasPrefix(stdout, "ctcpdiag report: "+good+"\nVerdict for "+good+": ") ||
		!strings.Contains(stdout, "\n\nctcpdiag report: "+good+"\nVerdict for "+good+": ") {
		t.Errorf("two text reports: exit %d, output:\n%s", code, stdout)
	}
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	if err := os.WriteFile(good, tinyPcap(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.json")

	code, stdout, stderr := runArgs(t, nil, "analyze", good, "-o", out, "--format", "json")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("output is not one JSON object: %v", err)
	}
	noTemp(t, dir)

	// Nothing readable: the existing file stays as it was.
	code, _, _ = runArgs(t, nil, "analyze", "-o", out, filepath.Join(dir, "missing.pcap"))
	if code != 2 {
		t.Errorf("unreadable input: exit %d, want 2", code)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(after, data) {
		t.Error("output file changed although nothing was analyzed")
	}
	fresh := filepath.Join(dir, "fresh.txt")
	runArgs(t, nil, "analyze", "-o", fresh, filepath.Join(dir, "missing.pcap"))
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("output file created although nothing was analyzed (stat: %v)", err)
	}

	// Output directory missing: exit 2, a message, nothing written.
	code, _, stderr = runArgs(t, nil, "analyze", "-o", filepath.Join(dir, "no", "such", "dir", "r.txt"), good)
	if code != 2 || !strings.Contains(stderr, "writing the report") {
		t.Errorf("missing directory: exit %d, stderr %q", code, stderr)
	}
	noTemp(t, dir)

	// The target is a non-empty directory: the rename fails and the
	// temporary file is removed.
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runArgs(t, nil, "analyze", "-o", target, good)
	if code != 2 || !strings.Contains(stderr, "writing the report") {
		t.Errorf("directory target: exit %d, stderr %q", code, stderr)
	}
	noTemp(t, dir)
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	for _, content := range []string{"first\n", "second\n"} {
		if err := writeFileAtomic(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("read %q, %v; want %q", got, err, content)
		}
	}
	noTemp(t, dir)
}

// tinyPcap returns a classic little-endian microsecond pcap holding one
// Ethernet/IPv4/TCP SYN from 192.0.2.1:40000 to 198.51.100.1:80.
func tinyPcap() []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 1) // Ethernet

	var pkt []byte
	pkt = append(pkt, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00)
	ip := []byte{0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 1}
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	pkt = append(pkt, ip...)
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	tcp[12] = 5 << 4
	tcp[13] = 0x02 // SYN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	pkt = append(pkt, tcp...)

	b = le.AppendUint32(b, 1710234867) // 2024-03-12
	b = le.AppendUint32(b, 318000)
	b = le.AppendUint32(b, uint32(len(pkt)))
	b = le.AppendUint32(b, uint32(len(pkt)))
	return append(b, pkt...)
}

// TestDispatchScanMerge checks that scan and merge reach their commands
// and that help knows them.
func TestDispatchScanMerge(t *testing.T) {
	for _, cmd := range []string{"scan", "merge", "anonymize"} {
		code, stdout, _ := runArgs(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "Usage: ctcpdiag "+cmd) {
			t.Errorf("%s --help: exit %d, stdout %q", cmd, code, stdout)
		}
		code, stdout, _ = runArgs(t, nil, "help", cmd)
		if code != 0 || !strings.Contains(stdout, "Usage: ctcpdiag "+cmd) {
			t.Errorf("help %s: exit %d, stdout %q", cmd, code, stdout)
		}
	}
	code, stdout, _ := runArgs(t, nil, "help")
	if code != 0 || !strings.Contains(stdout, "scan") || !strings.Contains(stdout, "merge") {
		t.Errorf("help does not list scan and merge: %q", stdout)
	}
}

// TestScanShardFromEnvironment checks that "scan --shard-index-env"
// reads the process environment, as in a Kubernetes Indexed Job, and
// that a bad value fails before anything is scanned.
func TestScanShardFromEnvironment(t *testing.T) {
	const v = "CTCPDIAG_TEST_SHARD_INDEX"
	dir := filepath.Join("..", "..", "samples")
	t.Setenv(v, "2")
	code, got, stderr := runArgs(t, nil, "scan", "--format", "jsonl", "--fail-on", "none", "--shard-index-env", v, "--shards", "3", dir)
	wantCode, want, _ := runArgs(t, nil, "scan", "--format", "jsonl", "--fail-on", "none", "--shard", "3/3", dir)
	if code != exitOK || wantCode != exitOK || got != want || !strings.Contains(stderr, "shard 3/3: ") {
		t.Errorf("%s=2 of 3: status %d (--shard 3/3: %d), same output as --shard 3/3: %v, stderr %q", v, code, wantCode, got == want, stderr)
	}
	t.Setenv(v, "3")
	code, stdout, stderr := runArgs(t, nil, "scan", "--shard-index-env", v, "--shards", "3", dir)
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, `invalid `+v+`="3" (--shard-index-env): want the shard's index, 0 to 2 for --shards 3`) {
		t.Errorf("%s=3 of 3: status %d, stdout %q, stderr %q", v, code, stdout, stderr)
	}
}

// TestHTMLStdinNoTempDir checks the one place where ctcpdiag writes a
// temporary file elsewhere than beside its output: the HTML report of
// standard input copies it to $TMPDIR. Without a writable TMPDIR (the
// container image has no /tmp) the message says so.
func TestHTMLStdinNoTempDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("TMPDIR is a Unix variable")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	code, stdout, stderr := runArgs(t, data, "analyze", "--format", "html", "-")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "through a temporary file") || !strings.Contains(stderr, "TMPDIR names a writable directory") {
		t.Errorf("status %d, stdout %d bytes, stderr %q", code, len(stdout), stderr)
	}
	// Other formats stream standard input.
	if code, _, stderr := runArgs(t, data, "analyze", "--format", "json", "-"); code != exitAffected {
		t.Errorf("json of standard input without TMPDIR: status %d, stderr %q", code, stderr)
	}
}
