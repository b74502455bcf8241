package main

import "runtime/debug"

// versionFunc returns the version printed by "ctcpdiag version" and
// written into reports. Tests replace it to keep golden files stable.
var versionFunc = buildVersion

// buildVersion returns the main module's version when the binary was built
// from a module version ("go install ...@v1.2.3"), else the VCS revision
// (12 hex digits, "-dirty" when the tree had changes), else "devel".
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
