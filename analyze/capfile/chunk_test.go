package capfile_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
// chunk, from inputs of known and unknown size, plain, gzipped and zstd
// compressed, read as files or streams, hashed or not.
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
	var gzStored bytes.Buffer // as large as p
	zw, _ = gzip.NewWriterLevel(&gzStored, gzip.NoCompression)
	zw.Write(p)
	zw.Close()
	zsStored := storedZstd(p)
	dir := t.TempDir()
	file := func(b []byte) string {
		path := filepath.Join(dir, fmt.Sprintf("c%d.pcap", len(b)))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	reader := func(r func([]byte) io.Reader) func([]byte, capfile.Options) (*capfile.Source, error) {
		return func(b []byte, o capfile.Options) (*capfile.Source, error) {
			return capfile.NewWith(r(b), "test", o)
		}
	}
	opened := func(b []byte, o capfile.Options) (*capfile.Source, error) {
		return capfile.OpenWith(file(b), o)
	}
	for _, tc := range []struct {
		name   string
		file   []byte
		open   func([]byte, capfile.Options) (*capfile.Source, error)
		noHash bool
	}{
		{"known-size", p, reader(func(b []byte) io.Reader { return bytes.NewReader(b) }), false},
		{"unknown-size", p, reader(func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }), false},
		{"one-byte-reads", p[:3<<20], reader(func(b []byte) io.Reader { return onlyReader{&oneByte{b: b}} }), false},
		{"gzip", gz.Bytes(), reader(func(b []byte) io.Reader { return bytes.NewReader(b) }), false},
		{"no-hash", p, reader(func(b []byte) io.Reader { return bytes.NewReader(b) }), true},
		{"file", p, opened, false},
		{"file-no-hash", p, opened, true},
		// Compressed files too are read ahead without the hash (the
		// read's copy leaves the decompressor's goroutine).
		{"file-gzip", gzStored.Bytes(), opened, false},
		{"file-gzip-no-hash", gzStored.Bytes(), opened, true},
		{"file-zstd", zsStored, opened, false},
		{"file-zstd-no-hash", zsStored, opened, true},
		{"file-cut", p[:5<<20+7], opened, false},
		{"file-no-hash-cut", p[:5<<20+7], opened, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tc.open(tc.file, capfile.Options{NoHash: tc.noHash})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			// Every input here is large and of known size: it is read
			// ahead exactly when there is no hash.
			if ahead := tc.noHash; src.ReadsAhead() != ahead {
				t.Fatalf("reads ahead %v, want %v", src.ReadsAhead(), ahead)
			}
			i := 0
			for src.Next() {
				if !bytes.Equal(src.Data(), recs[i].data) {
					t.Fatalf("frame %d: %d bytes differ from the %d written", i+1, len(src.Data()), len(recs[i].data))
				}
				i++
			}
			if strings.HasSuffix(tc.name, "-cut") || tc.name == "one-byte-reads" {
				// The file is cut inside a record: all records before
				// it are whole.
				if src.Err() == nil || i == 0 {
					t.Fatalf("%d frames, err %v", i, src.Err())
				}
			} else if src.Err() != nil || i != len(recs) {
				t.Fatalf("%d of %d frames, err %v", i, len(recs), src.Err())
			}
			sum := sha256.Sum256(tc.file)
			want := hex.EncodeToString(sum[:])
			if tc.noHash {
				want = ""
			}
			if src.SHA256() != want || src.Size() != int64(len(tc.file)) {
				t.Errorf("SHA256 %q size %d, want %q %d", src.SHA256(), src.Size(), want, len(tc.file))
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

// storedZstd returns b as one zstd frame of raw blocks (no checksum), a
// compressed file as large as b.
func storedZstd(b []byte) []byte {
	const block = 128 << 10
	// Magic number; frame header: no flags, window 1 MiB (Window_Log 20).
	z := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, (20 - 10) << 3}
	for {
		n := min(len(b), block)
		h := uint32(n) << 3 // Block_Type 0: raw
		if n == len(b) {
			h |= 1 // Last_Block
		}
		z = append(z, byte(h), byte(h>>8), byte(h>>16))
		z = append(z, b[:n]...)
		if b = b[n:]; len(b) == 0 {
			return z
		}
	}
}
