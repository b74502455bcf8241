package decode

import (
	"bufio"
	"bytes"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

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
