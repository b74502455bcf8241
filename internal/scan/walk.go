package scan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// unitKind says how a top-level input is read.
type unitKind uint8

const (
	unitFile   unitKind = iota // a file offered to the analyzer
	unitTar                    // a .tar, .tar.gz or .tgz archive
	unitZip                    // a .zip archive
	unitStatic                 // a result known from the walk (error, skip)
)

// unit is one top-level input: a file found by the walk, or a result the
// walk already decided.
type unit struct {
	path string
	// lower is the smallest printed path the unit can produce: its path,
	// or path+":" for an archive (whose entries print as "path:inner").
	lower    string
	kind     unitKind
	explicit bool  // named on the command line (not found by a walk)
	size     int64 // bytes, for progress
	static   *Result
}

// dirID identifies a directory for loop detection.
type dirID struct{ dev, ino uint64 }

// walker expands the command-line paths into units.
type walker struct {
	units   []unit
	visited map[dirID]bool
}

// expand turns the command-line paths into the sorted list of top-level
// units. A pattern with shell metacharacters that names no existing file
// is expanded as a glob; a malformed pattern is an error (a usage error
// for the command).
func expand(paths []string) ([]unit, error) {
	w := &walker{visited: make(map[dirID]bool)}
	for _, p := range paths {
		if p == "" {
			return nil, errors.New("empty path")
		}
		if hasMeta(p) {
			if _, err := os.Lstat(p); err != nil {
				matches, gerr := filepath.Glob(p)
				if gerr != nil {
					return nil, fmt.Errorf("bad pattern %q: %v", p, gerr)
				}
				if len(matches) == 0 {
					w.add(unit{path: p, explicit: true, kind: unitStatic,
						static: &Result{Path: p, Kind: KindUnreadable, Error: "no file matches the pattern"}})
					continue
				}
				for _, m := range matches {
					w.top(m)
				}
				continue
			}
		}
		w.top(p)
	}
	u := w.units
	slices.SortStableFunc(u, func(a, b unit) int { return strings.Compare(a.lower, b.lower) })
	// The same file named twice (or found by a walk and named) is scanned
	// once.
	u = slices.CompactFunc(u, func(a, b unit) bool { return a.lower == b.lower && a.path == b.path })
	return u, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

func (w *walker) add(u unit) {
	if u.lower == "" {
		u.lower = u.path
	}
	w.units = append(w.units, u)
}

func (w *walker) static(path string, explicit bool, r *Result) {
	r.Path = path
	w.add(unit{path: path, explicit: explicit, kind: unitStatic, static: r})
}

// top adds a path given on the command line.
func (w *walker) top(p string) {
	st, err := os.Stat(p)
	if err != nil {
		w.static(p, true, &Result{Kind: KindUnreadable, Error: statError(p, err)})
		return
	}
	if st.IsDir() {
		w.dir(p, st)
		return
	}
	w.file(p, st, true)
}

// file adds a non-directory found at p (st from os.Stat, following links).
func (w *walker) file(p string, st fs.FileInfo, explicit bool) {
	if !st.Mode().IsRegular() {
		why := "not a regular file (" + modeName(st.Mode()) + ")"
		if explicit || IsCaptureName(p) {
			w.static(p, explicit, &Result{Kind: KindUnreadable, Error: why})
		} else {
			w.static(p, explicit, &Result{Kind: KindSkipped, Reason: "not a regular file"})
		}
		return
	}
	u := unit{path: p, explicit: explicit, size: st.Size(), kind: unitFile}
	switch archiveKind(p) {
	case archTar, archTarGz:
		u.kind, u.lower = unitTar, p+":"
	case archZip:
		u.kind, u.lower = unitZip, p+":"
	}
	w.add(u)
}

// dir walks the directory p, entering each directory once.
func (w *walker) dir(p string, st fs.FileInfo) {
	if id, ok := statID(st); ok {
		if w.visited[id] {
			return
		}
		w.visited[id] = true
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		w.static(p, false, &Result{Kind: KindUnreadable, Error: statError(p, err)})
		// ReadDir returns what it could read before the error.
	}
	for _, e := range ents {
		cp := filepath.Join(p, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := os.Stat(cp)
			if err != nil {
				if IsCaptureName(cp) {
					w.static(cp, false, &Result{Kind: KindUnreadable, Error: "broken symbolic link"})
				} else {
					w.static(cp, false, &Result{Kind: KindSkipped, Reason: "broken symbolic link"})
				}
				continue
			}
			if target.IsDir() {
				if id, ok := statID(target); ok && w.visited[id] {
					w.static(cp, false, &Result{Kind: KindSkipped, Reason: "symbolic link to a directory already scanned"})
					continue
				}
				w.dir(cp, target)
				continue
			}
			w.file(cp, target, false)
			continue
		}
		if e.IsDir() {
			st, err := os.Stat(cp)
			if err != nil {
				w.static(cp, false, &Result{Kind: KindUnreadable, Error: statError(cp, err)})
				continue
			}
			w.dir(cp, st)
			continue
		}
		st, err := e.Info()
		if err != nil {
			w.static(cp, false, &Result{Kind: KindUnreadable, Error: statError(cp, err)})
			continue
		}
		w.file(cp, st, false)
	}
}

// statError is the text of a file-system error, without the path.
func statError(p string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return strings.TrimPrefix(err.Error(), p+": ")
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// Archive kinds, by name.
type archKind uint8

const (
	archNone archKind = iota
	archTar
	archTarGz
	archZip
)

func archiveKind(name string) archKind {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar"):
		return archTar
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return archTarGz
	case strings.HasSuffix(n, ".zip"):
		return archZip
	}
	return archNone
}

// captureExts are the name endings of capture files (compressed ones
// included).
var captureExts = []string{".pcap", ".pcapng", ".cap"}

// IsCaptureName reports whether name ends like a capture file (.pcap,
// .pcapng, .cap, optionally followed by .gz or .zst). Such a file that
// turns out not to be a capture, or empty, is reported as unreadable
// rather than skipped.
func IsCaptureName(name string) bool {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(n, ".gz")
	n = strings.TrimSuffix(n, ".zst")
	for _, e := range captureExts {
		if strings.HasSuffix(n, e) {
			return true
		}
	}
	return false
}
