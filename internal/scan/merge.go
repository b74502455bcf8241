package scan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/report"
)

// maxLine bounds one jsonl line (one capture's report).
const maxLine = 512 << 20

// line is one jsonl line read by Merge.
type line struct {
	path string
	raw  []byte
}

// Input is one jsonl stream for Merge.
type Input struct {
	// Name names the stream in errors.
	Name string
	R    io.Reader
}

// Merge reads the jsonl outputs of scans (shards of one scan, typically),
// sorts their lines by path as Scan orders its results (lines with the
// same path keep their order, inputs taken in the order given), and
// writes them to w, returning the summary. Each line is written as read
// when w is a jsonl writer. Merge holds the lines in memory (about the
// size of the inputs) and parses one report at a time. A malformed line
// is an error naming the input and the line number; nothing is written
// then.
func Merge(inputs []Input, w Writer) (*Summary, error) {
	var lines []line
	for _, in := range inputs {
		br := bufio.NewReaderSize(in.R, 1<<20)
		for n := 1; ; n++ {
			b, err := readLine(br)
			if len(b) > 0 {
				p, err := linePath(b)
				if err != nil {
					return nil, fmt.Errorf("%s: line %d: %v", in.Name, n, err)
				}
				lines = append(lines, line{path: p, raw: b})
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: %v", in.Name, n, err)
			}
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int { return strings.Compare(a.path, b.path) })
	sum := &Summary{}
	for i := range lines {
		r, err := parseLine(lines[i].raw)
		if err != nil {
			return sum, fmt.Errorf("%s: %v", lines[i].path, err)
		}
		if err := w.Write(r); err != nil {
			return sum, err
		}
		sum.Add(r)
		lines[i].raw = nil
	}
	return sum, nil
}

// readLine returns the next line without its newline (nil for a blank
// line).
func readLine(br *bufio.Reader) ([]byte, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return nil, errors.New("line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(bytes.TrimSpace(b)) == 0 {
			b = nil
		}
		return b, err
	}
}

// lineHead is what Merge reads of every line first.
type lineHead struct {
	Schema  string  `json:"schema"`
	Path    *string `json:"path"`
	Error   *string `json:"error"`
	Skipped *string `json:"skipped"`
	Capture struct {
		Path string `json:"path"`
	} `json:"capture"`
}

// linePath checks a line's kind and returns its path, without decoding a
// whole report.
func linePath(b []byte) (string, error) {
	var h lineHead
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	switch {
	case h.Schema != "":
		if !strings.HasPrefix(h.Schema, "ctcpdiag.report/") {
			return "", fmt.Errorf("unknown schema %q", h.Schema)
		}
		return h.Capture.Path, nil
	case h.Path != nil && (h.Error != nil || h.Skipped != nil):
		return *h.Path, nil
	}
	return "", errors.New("not a line of ctcpdiag scan --format jsonl")
}

// parseLine parses one jsonl line of scan.
func parseLine(b []byte) (*Result, error) {
	var h lineHead
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	switch {
	case h.Schema != "":
		if !strings.HasPrefix(h.Schema, "ctcpdiag.report/") {
			return nil, fmt.Errorf("unknown schema %q", h.Schema)
		}
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("bad report: %v", err)
		}
		return &Result{Path: rep.Capture.Path, Kind: KindCapture, Report: &rep, raw: b}, nil
	case h.Path != nil && h.Error != nil:
		return &Result{Path: *h.Path, Kind: KindUnreadable, Error: *h.Error, raw: b}, nil
	case h.Path != nil && h.Skipped != nil:
		return &Result{Path: *h.Path, Kind: KindSkipped, Reason: *h.Skipped, raw: b}, nil
	}
	return nil, errors.New("not a line of ctcpdiag scan --format jsonl")
}
