#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one after another.
#
#   scripts/fuzz.sh [DURATION] [GO-TEST-FLAG...]
#
# DURATION is a -fuzztime value per target (default 10m). Further
# arguments are passed to `go test`, e.g. `-parallel 1` to leave the other
# cores free. FUZZ_TARGETS, when set, is an extended regular expression:
# only targets whose name matches it run. FUZZ_MINIMIZE_TIME (a
# -fuzzminimizetime value, default 1000x: calls) bounds the work Go spends
# minimizing each new interesting input and each failing one: with Go's
# default of 60s, targets seeded with captures of a few KB spend nearly all
# their time minimizing instead of fuzzing.
#
# The targets are found by looking for `func FuzzXxx(... *testing.F)` in
# the *_test.go files, so new targets are included without editing this
# script. It stops with a non-zero status at the first failure and prints
# where Go saved the failing input (the package's testdata/fuzz/<Target>/,
# which `go test` then runs as a regression case). Run from anywhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${1:-10m}
[ "$#" -gt 0 ] && shift

# pkg<TAB>target lines, sorted for a stable order.
mapfile -t targets < <(
	grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*\([a-zA-Z_]+ \*testing\.F\)' . |
		grep -v -e '/testdata/' -e '/vendor/' |
		sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#./\1\t\2#; s#^\./[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#.\t\1#' |
		sort -u
)
if [ -n "${FUZZ_TARGETS:-}" ]; then
	mapfile -t targets < <(printf '%s\n' "${targets[@]}" | awk -F'\t' -v re="$FUZZ_TARGETS" '$2 ~ re')
fi
if [ "${#targets[@]}" -eq 0 ] || [ -z "${targets[0]}" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

echo "fuzz: ${#targets[@]} targets, $duration each:"
printf '  %s %s\n' $(printf '%s\n' "${targets[@]}" | tr '\t' ' ')

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
summary=()
for t in "${targets[@]}"; do
	pkg=${t%%$'\t'*}
	name=${t#*$'\t'}
	log="$logdir/$name.log"
	echo "fuzz: === $pkg $name ($duration) ==="
	start=$(date +%s)
	status=0
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "${FUZZ_MINIMIZE_TIME:-1000x}" "$@" "$pkg" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
	elapsed=$(($(date +%s) - start))
	last=$(grep -E '^fuzz: elapsed:' "$log" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	if [ "$status" -ne 0 ]; then
		echo "fuzz: FAIL $pkg $name after ${elapsed}s" >&2
		saved=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1)
		if [ -n "$saved" ]; then
			echo "fuzz: failing input saved in ${pkg#./}/$saved" >&2
			echo "fuzz: re-run it with: go test -run '^${name}\$/$(basename "$saved")\$' $pkg" >&2
		else
			echo "fuzz: no failing input was saved (build or seed-corpus failure: see the output above)" >&2
		fi
		exit 1
	fi
	summary+=("$(printf '%-22s %-18s %6ss  %s execs' "$pkg" "$name" "$elapsed" "${execs:-?}")")
done

echo "fuzz: all targets passed:"
printf '  %s\n' "${summary[@]}"
