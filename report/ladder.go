package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

func derefFrame(f *uint64) uint64 {
	if f == nil {
		return 0
	}
	return *f
}

// ladder is the two-lane diagram of a pair around its first loss: A's
// lane on the left, B's on the right, the device between in the middle.
// Each message seen at both points is a line from one lane to the other,
// a lost one stops at the device with a cross, and packets seen on one
// side only (the device's duplicate ACKs, FINs, RSTs) are drawn on that
// lane only. Rows are in the order of the events, not to time scale.
type ladder struct {
	Width, Height, XA, XB, XM, Bottom float64
	LabelA, LabelB, Caption           string
	Lines                             []ladderLine
}

type ladderLine struct {
	Class                  string // "msg", "lost" or "gen"
	X1, Y1, X2, Y2, TX, TY float64
	Anchor, Label          string
	Cross                  bool
}

const (
	ladderWidth = 900.0
	ladderXA    = 270.0
	ladderXB    = 670.0
	ladderTop   = 58.0
	ladderRow   = 26.0
	ladderMax   = 6 // lost messages and one-side packets drawn per kind
)

// newLadder draws pair i of c around its first loss; nil when it has
// none.
func newLadder(c *Correlation, i int) *ladder {
	p := &c.Pairs[i]
	var d *CorrDirection
	for k := range p.Directions {
		x := &p.Directions[k]
		if x.FirstLost != nil && (d == nil || x.FirstLost.Time < d.FirstLost.Time) {
			d = x
		}
	}
	if d == nil || (d.Upstream != "a" && d.Upstream != "b") {
		return nil
	}
	l := &ladder{Width: ladderWidth, XA: ladderXA, XB: ladderXB, XM: (ladderXA + ladderXB) / 2,
		LabelA: clean(PointName("a", c.ClientSide)), LabelB: clean(PointName("b", c.ClientSide))}
	lane := func(side string) float64 {
		if side == "a" {
			return l.XA
		}
		return l.XB
	}
	up, down := d.Upstream, OtherSide(d.Upstream)
	xu, xd := lane(up), lane(down)
	// Rows: those seen at the upstream point in its frame order, then
	// those seen at the downstream point only, in its frame order.
	type row struct {
		group int
		frame uint64
		ln    ladderLine
	}
	var rows []row
	upFrame := func(a, b uint64) uint64 {
		if up == "a" {
			return a
		}
		return b
	}
	groupOf := func(side string) int {
		if side == up {
			return 0
		}
		return 1
	}
	// Labels go outside the lane of the side whose frame they name.
	tx := func(side string) (float64, string) {
		if side == "a" {
			return l.XA - 8, "end"
		}
		return l.XB + 8, "start"
	}
	both := func(m *MessageFrames) {
		x, a := tx(up)
		rows = append(rows, row{0, upFrame(m.AFrame, m.BFrame), ladderLine{Class: "msg", X1: xu, X2: xd, TX: x, Anchor: a,
			Label: fmt.Sprintf("ESP #%d (A %d, B %d)", m.ESPSeq, m.AFrame, m.BFrame)}})
	}
	fl := d.FirstLost
	if fl.Before != nil {
		both(fl.Before)
	}
	for k, m := range d.Lost {
		if k >= ladderMax {
			break
		}
		f := upFrame(derefFrame(m.AFrame), derefFrame(m.BFrame))
		x, a := tx(up)
		rows = append(rows, row{0, f, ladderLine{Class: "lost", X1: xu, X2: l.XM, Cross: true, TX: x, Anchor: a,
			Label: fmt.Sprintf("ESP #%d lost (%s %d)", m.ESPSeq, strings.ToUpper(up), f)}})
	}
	if fl.After != nil {
		both(fl.After)
	}
	for _, e := range p.GeneratedBetween {
		for k, f := range e.Frames {
			if k >= ladderMax {
				break
			}
			x, a := tx(e.Side)
			rows = append(rows, row{groupOf(e.Side), f, ladderLine{Class: "gen", X1: l.XM, X2: lane(e.Side), TX: x, Anchor: a,
				Label: fmt.Sprintf("%s by the device (%s %d)", eventNoun(e.Kind), strings.ToUpper(e.Side), f)}})
		}
	}
	for _, e := range p.AbsorbedBetween {
		x, a := tx(e.Side)
		rows = append(rows, row{groupOf(e.Side), e.Frames[0], ladderLine{Class: "lost", X1: lane(e.Side), X2: l.XM, Cross: true, TX: x, Anchor: a,
			Label: fmt.Sprintf("%s not passed on (%s %d)", eventNoun(e.Kind), strings.ToUpper(e.Side), e.Frames[0])}})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.frame, b.frame))
	})
	y := ladderTop
	for _, r := range rows {
		ln := r.ln
		ln.Y1, ln.Y2, ln.TY = y, y+12, y+4
		if ln.Class != "msg" {
			ln.Y2 = y + 6
		}
		ln.Label = clean(ln.Label)
		l.Lines = append(l.Lines, ln)
		y += ladderRow
	}
	l.Bottom = y + 10
	l.Height = l.Bottom + 10
	l.Caption = clean(fmt.Sprintf("%s -> %s around ESP %s #%d, lost between the points (at most %d lost messages and %d packets of each kind drawn); rows in the upstream file's frame order, then the packets seen downstream only, not to time scale. Lines that stop at the device with a cross never reached the other point; lines from the device were seen on one lane only.",
		d.From, d.To, fl.ESPSPI, fl.ESPSeq, ladderMax, ladderMax))
	return l
}
