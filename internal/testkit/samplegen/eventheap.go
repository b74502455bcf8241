package samplegen

import "cmp"

// eventHeap is a binary min-heap of indexes (flows or sessions of a
// large generator) ordered by the time of each one's next event, ties by
// index, so that the output is deterministic. key gives that time.
type eventHeap[T cmp.Ordered] struct {
	idx []int
	key func(i int) T
}

func (h *eventHeap[T]) less(a, b int) bool {
	ka, kb := h.key(h.idx[a]), h.key(h.idx[b])
	if ka != kb {
		return ka < kb
	}
	return h.idx[a] < h.idx[b]
}

// top is the index whose event comes first.
func (h *eventHeap[T]) top() int { return h.idx[0] }

func (h *eventHeap[T]) push(i int) {
	h.idx = append(h.idx, i)
	j := len(h.idx) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !h.less(j, p) {
			break
		}
		h.idx[j], h.idx[p] = h.idx[p], h.idx[j]
		j = p
	}
}

// fixTop restores the order after the top's time moved later.
func (h *eventHeap[T]) fixTop() {
	n, j := len(h.idx), 0
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, j) {
			return
		}
		h.idx[j], h.idx[m] = h.idx[m], h.idx[j]
		j = m
	}
}
