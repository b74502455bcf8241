package capfile_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// onlyReader hides bytes.Reader's Len, so the size is unknown.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestChunkBoundaries reads records of every size class across many
// chunk boundaries: small ones, ones longer than the room kept before a
// chunk (gathered in the window's own buffer) and ones longer than a
// chunk, from inputs of known and unknown size, plain and gzipped.
func TestChunkBoundaries(t *testing.T) {
	sizes := []int{60, 1514, 70_000, 66, 300_000, 9000, 1_500_000, 1, 65_535, 65_536, 65_537, 200}
	var recs []rec
	total := 0
	for i := 0; total < 12<<20; i++ {
		n := sizes[i%len(sizes)]
		recs = append(recs, rec{sec: uint32(i), data: payload(n, byte(i))})
		total += n + 16
	}
	p := pcapFile(pcapOpts{network: 1}, recs...)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(p)
	zw.Close()
	for _, tc := range []struct {
		name string
		file []byte
		r    func([]byte) io.Reader
	}{
		{"known-size", p, func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"unknown-size", p, func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }},
		{"one-byte-reads", p[:3<<20], func(b []byte) io.Reader { return onlyReader{&oneByte{b: b}} }},
		{"gzip", gz.Bytes(), func(b []byte) io.Reader { return bytes.NewReader(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := capfile.New(tc.r(tc.file), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			i := 0
			for src.Next() {
				if !bytes.Equal(src.Data(), recs[i].data) {
					t.Fatalf("frame %d: %d bytes differ from the %d written", i+1, len(src.Data()), len(recs[i].data))
				}
				i++
			}
			if tc.name == "one-byte-reads" {
				// The file is cut inside a record: all records before
				// it are whole.
				if src.Err() == nil || i == 0 {
					t.Fatalf("%d frames, err %v", i, src.Err())
				}
			} else if src.Err() != nil || i != len(recs) {
				t.Fatalf("%d of %d frames, err %v", i, len(recs), src.Err())
			}
			sum := sha256.Sum256(tc.file)
			if src.SHA256() != hex.EncodeToString(sum[:]) || src.Size() != int64(len(tc.file)) {
				t.Errorf("SHA256 %s size %d, want %x %d", src.SHA256(), src.Size(), sum, len(tc.file))
			}
		})
	}
}

// oneByte returns one byte per Read.
type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}
