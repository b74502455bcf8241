package correlate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDelayStats checks the bounded delay summary: exact up to
// exactDelays values, then within 1% of each quantile's distance to the
// median at the switch, with the minimum and maximum exact.
func TestDelayStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 100, exactDelays, 5 * exactDelays} {
		var d dstats
		xs := make([]int64, n)
		for i := range xs {
			// An offset of 37.5 ms and delays of 2-40 ms, a long tail.
			xs[i] = 37_500_000 + 2_000_000 + int64(rng.ExpFloat64()*3e6)
			if i%1000 == 0 {
				xs[i] += 30_000_000
			}
			d.add(xs[i])
		}
		slices.Sort(xs)
		ref := d.ref // the median when the histogram took over

		for _, k := range []int{0, n / 2, min(n-1, n*99/100), n - 1} {
			got, want := d.at(k), xs[k]
			if n <= exactDelays || k == 0 || k == n-1 {
				if got != want {
					t.Errorf("n %d: value %d is %d, want %d exactly", n, k, got, want)
				}
				continue
			}
			// The k-th smallest value's bucket gives it within 1% of
			// its distance to the reference (and 1 ns of rounding).
			if e := abs(got - want); e > abs(want-ref)/100+1 {
				t.Errorf("n %d: value %d is %d, want %d within 1%% of %d", n, k, got, want, abs(want-ref))
			}
		}
	}
}

func TestValueCounts(t *testing.T) {
	var v valueCounts
	for i := 0; i < 100; i++ {
		v.add(7)
		v.add(uint32(i % 20))
	}
	if v.count(7) != 105 || v.count(3) != 5 || v.count(19) != 0 || v.other != 20 {
		t.Errorf("counts %d %d %d other %d", v.count(7), v.count(3), v.count(19), v.other)
	}
}

// TestExactBudget: past exactBudget delays kept exactly over all
// directions, the direction keeping the most goes over to its histogram.
func TestExactBudget(t *testing.T) {
	m := newMerger(Options{})
	for i := 0; i < 3; i++ {
		p := &pairAgg{}
		m.pairs[[2]uint64{uint64(i), uint64(i)}] = p
		for j := 0; j < (i+1)*exactBudget/8; j++ {
			p.dirs[0].d.add(int64(j))
			m.exact++
		}
	}
	m.shrinkExact()
	big := &m.pairs[[2]uint64{2, 2}].dirs[0].d
	if !big.hist || len(big.exact) != 0 || m.exact != 3*exactBudget/8 {
		t.Errorf("after shrinking: largest in a histogram %v (%d exact), %d exact in all", big.hist, len(big.exact), m.exact)
	}
	if got := big.at(big.n / 2); abs(got-int64(big.n/2)) > int64(big.n/2)/100+1 {
		t.Errorf("median %d, want about %d", got, big.n/2)
	}
}
