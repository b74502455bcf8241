package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNoHash checks that --no-hash leaves capture.sha256 empty and changes
// nothing else, in analyze and in scan, and that the other formats say so.
func TestNoHash(t *testing.T) {
	p := filepath.Join(samplesDir(t), "ctcp-proxy-stall.pcap")
	_, hashed, _ := runArgs(t, nil, "analyze", "--format", "json", p)
	code, plain, stderr := runArgs(t, nil, "analyze", "--no-hash", "--format", "json", p)
	if code != exitAffected {
		t.Fatalf("analyze --no-hash: status %d, stderr %q", code, stderr)
	}
	var rep struct {
		Capture struct {
			SHA256 string `json:"sha256"`
		} `json:"capture"`
	}
	if err := json.Unmarshal([]byte(hashed), &rep); err != nil || len(rep.Capture.SHA256) != 64 {
		t.Fatalf("default report: sha256 %q, err %v", rep.Capture.SHA256, err)
	}
	want := strings.Replace(hashed, `"sha256": "`+rep.Capture.SHA256+`"`, `"sha256": ""`, 1)
	if d := cmp.Diff(want, plain); d != "" {
		t.Errorf("analyze: (-default with the hash emptied +--no-hash):\n%s", d)
	}

	for _, format := range []string{"text", "markdown", "html"} {
		_, out, _ := runArgs(t, nil, "analyze", "--no-hash", "--format", format, p)
		if !strings.Contains(out, "not computed (--no-hash)") {
			t.Errorf("%s report does not say the hash was not computed", format)
		}
	}

	_, scanHashed, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", p)
	_, scanPlain, _ := scanArgs(t, context.Background(), false, "--no-hash", "--format", "jsonl", p)
	want = strings.Replace(scanHashed, `"sha256":"`+rep.Capture.SHA256+`"`, `"sha256":""`, 1)
	if want == scanHashed {
		t.Fatalf("scan output holds no sha256 %s:\n%s", rep.Capture.SHA256, scanHashed)
	}
	if d := cmp.Diff(want, scanPlain); d != "" {
		t.Errorf("scan: (-default with the hash emptied +--no-hash):\n%s", d)
	}
}
