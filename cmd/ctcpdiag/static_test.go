package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// staticBinaryEnv names a binary for TestStaticBinary to check instead of
// building one (.ci/image sets it to the binary taken out of the image).
const staticBinaryEnv = "CTCPDIAG_STATIC_BINARY"

// TestStaticBinary checks that ctcpdiag, built for Linux as Containerfile
// says (CGO_ENABLED=0), is static, since the image is FROM scratch and has
// no dynamic loader or library: no ELF interpreter, no dynamic section, no
// needed library. Where it can, it also runs the binary's version.
func TestStaticBinary(t *testing.T) {
	bin := os.Getenv(staticBinaryEnv)
	if bin == "" {
		gobin, err := exec.LookPath("go")
		if err != nil {
			t.Skipf("no go command to build the binary with: %v", err)
		}
		bin = filepath.Join(t.TempDir(), "ctcpdiag")
		cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("go cannot build the binary here (%v):\n%s", err, out)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Errorf("%s has an ELF interpreter (program header PT_INTERP): it is linked dynamically", bin)
		case elf.PT_DYNAMIC:
			t.Errorf("%s has a dynamic segment (program header PT_DYNAMIC)", bin)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("%s has a .dynamic section", bin)
	}
	if s := f.Section(".interp"); s != nil {
		t.Errorf("%s has an .interp section", bin)
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs the libraries %q (%v)", bin, libs, err)
	}

	if runtime.GOOS != "linux" || f.Machine != hostMachine() {
		t.Logf("not running %s (built for %v on a %s/%s host)", bin, f.Machine, runtime.GOOS, runtime.GOARCH)
		return
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ctcpdiag ") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("%s version: %v, output %q", bin, err, out)
	}
}

// hostMachine returns the ELF machine of the host's architecture (0 when
// unknown here).
func hostMachine() elf.Machine {
	switch runtime.GOARCH {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	case "386":
		return elf.EM_386
	case "arm":
		return elf.EM_ARM
	case "riscv64":
		return elf.EM_RISCV
	case "ppc64le", "ppc64":
		return elf.EM_PPC64
	case "s390x":
		return elf.EM_S390
	case "loong64":
		return elf.EM_LOONGARCH
	}
	return elf.EM_NONE
}
