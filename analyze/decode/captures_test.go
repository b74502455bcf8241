package decode

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// publicDir returns the folder of public captures (../shared/captures/public
// next to the repository root), skipping the test when it is absent.
func publicDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	pub := filepath.Join(dir, "..", "shared", "captures", "public")
	if _, err := os.Stat(filepath.Join(pub, "MANIFEST.tsv")); err != nil {
		t.Skipf("public captures not found (%s): %v", pub, err)
	}
	return pub
}

// manifestRow is one line of MANIFEST.tsv, with the columns the tests use.
type manifestRow struct {
	name   string // base name of the capture
	status string // tshark_status
	cols   map[string]string
}

func (r manifestRow) int(t testing.TB, col string) int {
	n, err := strconv.Atoi(r.cols[col])
	if err != nil {
		t.Fatalf("%s: column %s: %v", r.name, col, err)
	}
	return n
}

func readManifest(t testing.TB, pub string) []manifestRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pub, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	var rows []manifestRow
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		row := manifestRow{cols: map[string]string{}}
		for i, h := range header {
			if i < len(f) {
				row.cols[h] = f[i]
			}
		}
		row.name = filepath.Base(row.cols["file"])
		row.status = row.cols["tshark_status"]
		rows = append(rows, row)
	}
	return rows
}

// testFrame is one frame read by readCapture.
type testFrame struct {
	num      int
	data     []byte // owned copy
	origLen  int
	linkType uint16
}

// readCapture reads every frame of a capture with analyze/capfile. Frames
// read before an error are returned with the error.
func readCapture(path string) ([]testFrame, error) {
	src, err := capfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var frames []testFrame
	for src.Next() {
		info := src.Info()
		frames = append(frames, testFrame{
			num:      int(info.Frame),
			data:     bytes.Clone(src.Data()),
			origLen:  info.OrigLen,
			linkType: info.LinkType,
		})
	}
	return frames, src.Err()
}

// decodeFrame decodes f into p the way the analyzer does.
func decodeFrame(d *Decoder, f testFrame, p *Packet) error {
	p.Frame = uint64(f.num)
	p.CapLen = len(f.data)
	p.OrigLen = f.origLen
	return d.Decode(f.data, f.linkType, p)
}

// readLines splits tshark output into lines.
func readLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
