package events

import (
	"slices"
	"testing"

	"github.com/motcua/motcua/service"
)

func TestLookForKeepsTheGapsBelowTheCursor(t *testing.T) {
	seqs := func(s ...int64) []service.OutboxRecord {
		out := make([]service.OutboxRecord, len(s))
		for i, seq := range s {
			out[i] = service.OutboxRecord{Seq: seq}
		}
		return out
	}
	many := make([]int64, 0, maxGaps)
	for seq := int64(2); len(many) < maxGaps; seq++ {
		many = append(many, seq)
	}
	for _, c := range []struct {
		name  string
		gaps  []int64
		floor int64
		after int64
		recs  []service.OutboxRecord
		want  []int64
	}{
		{"first read: nothing pending before the oldest row", nil, 0, 0, seqs(5, 6, 8), []int64{7}},
		{"holes after the cursor", nil, 0, 4, seqs(6, 9), []int64{5, 7, 8}},
		{"a gap found", []int64{5, 7, 8}, 0, 9, seqs(7, 10), []int64{5, 8}},
		{"gaps found and new ones", []int64{3, 4}, 0, 10, seqs(3, 4, 12), []int64{11}},
		{"nothing read", []int64{3}, 0, 10, nil, []int64{3}},
		{"at most maxGaps", nil, 0, 1, seqs(1 + maxGaps + 500), many},
		{"first read: between the floor and the first row above it", nil, 4, 0, seqs(7, 8), []int64{5, 6}},
		{"first read: rows below the floor", nil, 6, 0, seqs(2, 4, 9), []int64{3, 5, 6, 7, 8}},
		{"first read: gaps of the pump before, in order", []int64{6, 9}, 9, 0, seqs(2, 4, 6, 11), []int64{3, 5, 7, 8, 9, 10}},
		{"cursor read: the floor plays no part", []int64{5}, 3, 6, seqs(8), []int64{5, 7}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pipeline{gaps: slices.Clone(c.gaps), floor: c.floor}
			p.lookFor(c.after, c.recs)
			if !slices.Equal(p.gaps, c.want) {
				t.Errorf("gaps %v, want %v", p.gaps, c.want)
			}
		})
	}
}
