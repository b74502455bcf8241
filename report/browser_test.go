package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// browserCheck runs inside the page: it measures each graph and the data
// marks of each panel, counts the resources the page loaded and writes the
// result as JSON into the data-check attribute of the root element.
const browserCheck = `(function () {
  var out = {graphs: [], resources: performance.getEntriesByType('resource').length};
  var svgs = document.querySelectorAll('svg.tsg');
  for (var i = 0; i < svgs.length; i++) {
    var svg = svgs[i], b = svg.getBBox(), panels = [];
    var ps = svg.querySelectorAll('g.panel');
    for (var j = 0; j < ps.length; j++) {
      var m = ps[j].querySelector('g.marks'), mb = m ? m.getBBox() : {width: 0, height: 0};
      var data = ps[j].querySelectorAll('path.data, path.resent, path.ack').length;
      panels.push({w: mb.width, h: mb.height, paths: data});
    }
    out.graphs.push({w: b.width, h: b.height, panels: panels});
  }
  document.documentElement.setAttribute('data-check', JSON.stringify(out));
})();`

// cspRE matches the report's Content-Security-Policy meta tag.
var cspRE = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="[^"]*">`)

var checkRE = regexp.MustCompile(`data-check="([^"]*)"`)

// chromium finds a headless-capable Chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium): skipping the in-browser check of the HTML reports")
	return ""
}

// dumpDOM loads the file at path in headless Chromium and returns the DOM
// after the page ran.
func dumpDOM(t *testing.T, bin, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"), "--dump-dom", "file://"+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// withCheck returns page with browserCheck injected before </body> and the
// CSP relaxed to allow that one script (by its hash) and nothing else.
func withCheck(t *testing.T, page string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(browserCheck))
	csp := `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-` +
		base64.StdEncoding.EncodeToString(sum[:]) + `'">`
	if !cspRE.MatchString(page) {
		t.Fatal("no Content-Security-Policy meta tag")
	}
	page = cspRE.ReplaceAllLiteralString(page, csp)
	i := strings.LastIndex(page, "</body>")
	if i < 0 {
		t.Fatal("no </body>")
	}
	return page[:i] + "<script>" + browserCheck + "</script>\n" + page[i:]
}

type browserResult struct {
	Graphs []struct {
		W, H   float64
		Panels []struct {
			W, H  float64
			Paths int
		}
	}
	Resources int
}

// TestHTMLInBrowser renders each sample's HTML report in headless Chromium
// and checks, in the page, that every graph and its data marks have a size
// and that nothing was loaded from outside the file.
func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	for _, path := range sampleFiles(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			rep := buildSample(t, path, "samples/"+base)
			var buf bytes.Buffer
			if err := WriteHTML(&buf, rep); err != nil {
				t.Fatal(err)
			}
			checkNoExternal(t, buf.String())
			if len(rep.Graphs) == 0 && !strings.Contains(base, "ctcp") {
				return // nothing to draw; the static check is enough
			}
			file := filepath.Join(dir, base+".html")
			if err := os.WriteFile(file, []byte(withCheck(t, buf.String())), 0o644); err != nil {
				t.Fatal(err)
			}
			dom := dumpDOM(t, bin, file)
			m := checkRE.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the check script did not run (no data-check attribute in the DOM)")
			}
			t.Logf("in the browser: %s", html.UnescapeString(m[1]))
			var res browserResult
			if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &res); err != nil {
				t.Fatalf("data-check: %v: %s", err, m[1])
			}
			if res.Resources != 0 {
				t.Errorf("the page loaded %d resources, want 0", res.Resources)
			}
			if len(res.Graphs) != len(rep.Graphs) {
				t.Fatalf("%d graphs in the page, want %d", len(res.Graphs), len(rep.Graphs))
			}
			for i, g := range res.Graphs {
				if g.W <= 0 || g.H <= 0 {
					t.Errorf("graph %d has an empty bounding box %gx%g", i, g.W, g.H)
				}
				if len(g.Panels) != len(rep.Graphs[i].Panels) {
					t.Errorf("graph %d has %d panels, want %d", i, len(g.Panels), len(rep.Graphs[i].Panels))
					continue
				}
				for j, p := range g.Panels {
					gp := rep.Graphs[i].Panels[j]
					if len(gp.Data) == 0 && len(gp.Acks) == 0 {
						continue
					}
					if p.W <= 0 || p.H <= 0 || p.Paths == 0 {
						t.Errorf("graph %d panel %d (%s): data marks %gx%g, %d paths", i, j, gp.Label, p.W, p.H, p.Paths)
					}
				}
			}
		})
	}
}

// TestHTMLCSPBlocksScripts checks that the report's own policy stops an
// injected inline script.
func TestHTMLCSPBlocksScripts(t *testing.T) {
	bin := chromium(t)
	rep := buildSample(t, filepath.Join(testcaps.SamplesDir(t), "ctcp-proxy-stall.pcap"), "samples/ctcp-proxy-stall.pcap")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	i := strings.LastIndex(page, "</body>")
	page = page[:i] + "<script>" + browserCheck + "</script>\n" + page[i:]
	file := filepath.Join(t.TempDir(), "blocked.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if dom := dumpDOM(t, bin, file); checkRE.MatchString(dom) {
		t.Error("an inline script ran despite the report's Content-Security-Policy")
	}
}
