package rewrite_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
)

// checkTshark compares tshark's frame numbers, TCP lengths and TCP
// analysis flags of the original and the copy, frame by frame.
func checkTshark(t *testing.T, path string, out []byte) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		return
	}
	tmp := filepath.Join(t.TempDir(), "copy.pcapng")
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		t.Fatal(err)
	}
	fields := []string{"-n", "-T", "fields", "-e", "frame.number",
		"-e", "tcp.analysis.duplicate_ack", "-e", "tcp.analysis.retransmission",
		"-e", "tcp.analysis.fast_retransmission", "-e", "tcp.analysis.lost_segment",
		"-e", "tcp.analysis.out_of_order", "-e", "tcp.analysis.zero_window",
		"-e", "tcp.analysis.ack_lost_segment", "-e", "tcp.len"}
	runT := func(f string) (string, error) {
		o, err := exec.Command(tshark, append([]string{"-r", f}, fields...)...).Output()
		return string(o), err
	}
	want, err := runT(path)
	if err != nil {
		return // tshark cannot read the original either
	}
	got, err := runT(tmp)
	if err != nil {
		t.Errorf("tshark cannot read the copy: %v", err)
		return
	}
	if ipcomp[filepath.Base(path)] || want == got {
		return
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(wl), len(gl)) {
		if wl[i] != gl[i] {
			t.Errorf("tshark TCP analysis differs from line %d: original %q, copy %q", i+1, wl[i], gl[i])
			return
		}
	}
	t.Errorf("tshark: %d lines for the original, %d for the copy", len(wl), len(gl))
}

// TestPlaceholders checks that frame numbers survive blocks that carry a
// frame number but no packet, and that their content does not.
func TestPlaceholders(t *testing.T) {
	var in bytes.Buffer
	le := binary.LittleEndian
	w32 := func(v uint32) { in.Write(le.AppendUint32(nil, v)) }
	w32(0x0a0d0d0a)
	w32(28)
	w32(0x1a2b3c4d)
	in.Write([]byte{1, 0, 0, 0})
	in.Write(le.AppendUint64(nil, ^uint64(0)))
	w32(28)
	w32(1)
	w32(20)
	in.Write([]byte{1, 0, 0, 0}) // Ethernet
	w32(0)
	w32(20)
	custom := func() {
		w32(0x00000bad)
		w32(20)
		w32(32473)
		w32(0xdeadbeef) // data that must not survive
		w32(20)
	}
	epb := func(b []byte) {
		n := 32 + (len(b)+3)&^3
		w32(6)
		w32(uint32(n))
		w32(0)
		w32(0)
		w32(1000)
		w32(uint32(len(b)))
		w32(uint32(len(b)))
		in.Write(b)
		in.Write(make([]byte, (4-len(b)%4)%4))
		w32(uint32(n))
	}
	frame := make([]byte, 60)
	frame[12], frame[13] = 0x08, 0x06 // ARP, cut short
	custom()
	epb(frame)
	custom()
	custom()
	epb(frame)
	custom()
	var out bytes.Buffer
	st, err := rewrite.Anonymize(bytes.NewReader(in.Bytes()), "in", &out, mapper)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 6 || st.Packets != 2 || st.Placeholders != 4 {
		t.Errorf("stats %+v", st)
	}
	if bytes.Contains(out.Bytes(), []byte{0xef, 0xbe, 0xad, 0xde}) {
		t.Error("custom block data copied")
	}
	src, err := capfile.New(bytes.NewReader(out.Bytes()), "out")
	if err != nil {
		t.Fatal(err)
	}
	var frames []uint64
	for src.Next() {
		frames = append(frames, src.Info().Frame)
	}
	if !cmp.Equal(frames, []uint64{2, 5}) || src.Frames() != 6 {
		t.Errorf("frames %v of %d, want [2 5] of 6", frames, src.Frames())
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed: frame numbers not checked with it")
		return
	}
	tmp := filepath.Join(t.TempDir(), "p.pcapng")
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := exec.Command(tshark, "-r", tmp, "-T", "fields", "-e", "frame.number", "-Y", "eth").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if got := strings.Fields(string(o)); !cmp.Equal(got, []string{"2", "5"}) {
		t.Errorf("tshark frame numbers %v, want [2 5]", got)
	}
}
