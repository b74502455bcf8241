package testcaps

import (
	"maps"
	"testing"
)

// TestRepresentativeSubset checks that the representative subset is a
// small, deterministic part of the manifest that still covers every count
// it promises.
func TestRepresentativeSubset(t *testing.T) {
	all := Manifest(t)
	keep := subset(all)
	var names []string
	for _, e := range all {
		if keep[e.Name] {
			names = append(names, e.Name)
		}
	}
	t.Logf("%d of %d captures: %v", len(names), len(all), names)
	if len(keep) != len(names) || len(keep) == 0 || len(keep) > len(all)/2 {
		t.Fatalf("subset of %d names, %d of them in the manifest of %d", len(keep), len(names), len(all))
	}
	covered := func(ok func(Entry) bool) bool {
		for _, e := range all {
			if keep[e.Name] && ok(e) {
				return true
			}
		}
		return false
	}
	for _, e := range all {
		for _, col := range figureCols {
			if e.Status() == "ok" && e.Int(col) > 0 && !covered(func(k Entry) bool { return k.Status() == "ok" && k.Int(col) > 0 }) {
				t.Errorf("no capture with %s in the subset, though %s has it", col, e.Name)
			}
		}
	}
	if again := subset(all); !maps.Equal(again, keep) {
		t.Errorf("not deterministic: %d then %d captures", len(keep), len(again))
	}
	for name := range keep {
		if !IsRepresentative(t, name) {
			t.Errorf("IsRepresentative(%s) = false", name)
		}
	}
}
