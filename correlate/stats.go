package correlate

import (
	"math"
	"slices"
)

// exactDelays is how many apparent delays a direction keeps exactly;
// past it they go into a log-bucketed histogram (doc.go, "Memory").
// exactBudget bounds them over all directions: past it, the direction
// holding the most goes over to its histogram (merger.match).
const (
	exactDelays = 1 << 16
	exactBudget = 1 << 17
)

// histGamma is the ratio between histogram bucket bounds: a value is
// reported as its bucket's representative, within (gamma-1)/(gamma+1)
// < 1% of it.
const histGamma = 1.02

var logGamma = math.Log(histGamma)

// dstats keeps the apparent delays (B time minus A time) of a direction
// in bounded memory: exactly up to exactDelays of them, then as a
// histogram of their distance to the median at the switch (ref), so
// that the error of a quantile is under 1% of its distance to that
// median (1% of the one-way delay for the median and above), whatever
// the clock offset. n, min, max and the mean stay exact.
type dstats struct {
	n        int
	min, max int64
	sum      float64
	exact    []int64
	sorted   bool
	hist     bool
	ref      int64
	zero     uint64
	pos, neg buckets // by bucket of |x - ref|
}

// buckets counts values by bucket index, from the lowest index used: a
// direction's delays span a few hundred buckets at most.
type buckets struct {
	lo int
	c  []uint64
}

func (b *buckets) add(i int) {
	switch {
	case len(b.c) == 0:
		b.lo = i
		b.c = append(b.c, 0)
	case i < b.lo:
		n := make([]uint64, b.lo-i+len(b.c))
		copy(n[b.lo-i:], b.c)
		b.c, b.lo = n, i
	}
	for len(b.c) <= i-b.lo {
		b.c = append(b.c, 0)
	}
	b.c[i-b.lo]++
}

// add adds x and reports whether the minimum or the maximum changed.
func (d *dstats) add(x int64) bool {
	changed := d.n == 0 || x < d.min || x > d.max
	if d.n == 0 {
		d.min, d.max = x, x
	}
	d.min, d.max = min(d.min, x), max(d.max, x)
	d.n++
	d.sum += float64(x)
	if !d.hist {
		d.exact = append(d.exact, x)
		d.sorted = false
		if len(d.exact) > exactDelays {
			d.toHist()
		}
		return changed
	}
	d.bucket(x)
	return changed
}

func (d *dstats) mean() float64 { return d.sum / float64(d.n) }

func (d *dstats) toHist() {
	slices.Sort(d.exact)
	d.ref = d.exact[len(d.exact)/2]
	d.hist = true
	for _, x := range d.exact {
		d.bucket(x)
	}
	d.exact = nil
}

func bucketOf(v int64) int {
	// v >= 1; bucket i holds (gamma^(i-1), gamma^i].
	return int(math.Ceil(math.Log(float64(v)) / logGamma))
}

func (d *dstats) bucket(x int64) {
	v := x - d.ref
	switch {
	case v == 0:
		d.zero++
	case v > 0:
		d.pos.add(bucketOf(v))
	default:
		d.neg.add(bucketOf(-v))
	}
}

// at returns the k-th smallest value (0 <= k < n).
func (d *dstats) at(k int) int64 {
	if k <= 0 {
		return d.min
	}
	if k >= d.n-1 {
		return d.max
	}
	if !d.hist {
		if !d.sorted {
			slices.Sort(d.exact)
			d.sorted = true
		}
		return d.exact[k]
	}
	rep := func(i int) int64 { return int64(math.Round(math.Pow(histGamma, float64(i)) * 2 / (1 + histGamma))) }
	c := uint64(k)
	for i := len(d.neg.c) - 1; i >= 0; i-- {
		if c < d.neg.c[i] {
			return min(d.max, max(d.min, d.ref-rep(d.neg.lo+i)))
		}
		c -= d.neg.c[i]
	}
	if c < d.zero {
		return d.ref
	}
	c -= d.zero
	for i, x := range d.pos.c {
		if c < x {
			return min(d.max, max(d.min, d.ref+rep(d.pos.lo+i)))
		}
		c -= x
	}
	return d.max
}

func (d *dstats) median() int64 { return d.at(d.n / 2) }

// valueCounts counts how often each of the first few distinct values
// was seen; later values are counted together (other), which is exact
// for the constant offsets it is asked about.
type valueCounts struct {
	vals   [16]uint32
	counts [16]int
	n      int
	other  int
}

func (v *valueCounts) add(x uint32) {
	for i := 0; i < v.n; i++ {
		if v.vals[i] == x {
			v.counts[i]++
			return
		}
	}
	if v.n < len(v.vals) {
		v.vals[v.n], v.counts[v.n] = x, 1
		v.n++
		return
	}
	v.other++
}

// count returns how often x was seen (0 if it came after the first
// distinct values were taken).
func (v *valueCounts) count(x uint32) int {
	for i := 0; i < v.n; i++ {
		if v.vals[i] == x {
			return v.counts[i]
		}
	}
	return 0
}
