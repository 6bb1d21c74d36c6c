package alloc

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// warehouseIDs are the 1C warehouse ids that generated inputs use.
var warehouseIDs = []string{"wh-a", "wh-b", "wh-c", "wh-d"}

// genWarehouse generates a configuration that passes Validate.
func genWarehouse(t *rapid.T) Warehouse {
	w := Warehouse{
		Name:           "vw",
		Buffer:         rapid.Int64Range(0, 20).Draw(t, "buffer"),
		ScarceChannels: rapid.IntRange(0, 4).Draw(t, "scarceChannels"),
	}
	if rapid.Bool().Draw(t, "scarceOn") {
		w.ScarceAt = rapid.Int64Range(1, 40).Draw(t, "scarceAt")
	}
	for _, id := range warehouseIDs {
		if rapid.Bool().Draw(t, "choose "+id) {
			w.Warehouses = append(w.Warehouses, id)
		}
	}

	count := rapid.IntRange(1, 5).Draw(t, "bindings")
	for i := range count {
		b := Binding{
			Channel: fmt.Sprintf("ch%d", i),
			Rule:    rapid.SampledFrom([]string{RuleAll, RuleFixed, RuleShare}).Draw(t, "rule"),
		}
		switch b.Rule {
		case RuleFixed:
			b.Quantity = rapid.Int64Range(0, 60).Draw(t, "quantity")
		case RuleShare:
			b.Percent = rapid.IntRange(0, 100).Draw(t, "percent")
		}
		if rapid.Bool().Draw(t, "capped") {
			b.Cap = rapid.Int64Range(1, 80).Draw(t, "cap")
		}
		if rapid.Bool().Draw(t, "min") {
			maxMin := int64(80)
			if b.Cap > 0 {
				maxMin = b.Cap
			}
			b.Min = rapid.Int64Range(1, maxMin).Draw(t, "minValue")
		}
		w.Bindings = append(w.Bindings, b)
	}

	if err := w.Validate(); err != nil {
		t.Fatalf("generated an invalid configuration: %v", err)
	}
	return w
}

// genInput generates levels from minLevel to maxLevel and reservations
// whose Sold part is consistent with the configuration: each Sold value is
// at most the binding's Quantity and Reserved is at least their sum.
func genInput(t *rapid.T, w Warehouse, minLevel, maxLevel int64) Input {
	in := Input{Levels: map[string]int64{}, Sold: map[string]int64{}}
	for _, id := range warehouseIDs {
		if rapid.Bool().Draw(t, "has "+id) {
			in.Levels[id] = rapid.Int64Range(minLevel, maxLevel).Draw(t, "level "+id)
		}
	}

	in.Reserved = rapid.Int64Range(0, 40).Draw(t, "otherReserved")
	for _, b := range w.Bindings {
		if b.Rule != RuleFixed || !rapid.Bool().Draw(t, "sold "+b.Channel) {
			continue
		}
		sold := rapid.Int64Range(0, b.Quantity).Draw(t, "soldValue "+b.Channel)
		in.Sold[b.Channel] = sold
		in.Reserved += sold
	}
	return in
}

// referencePool computes the pool from the input directly, as a check on
// Explain.
func referencePool(w Warehouse, in Input) int64 {
	ids := w.Warehouses
	if len(ids) == 0 {
		ids = warehouseIDs
	}
	var stock int64
	for _, id := range ids {
		stock += max(0, in.Levels[id])
	}
	return max(0, stock-w.Buffer-in.Reserved)
}

func cloneInput(in Input) Input {
	return Input{Levels: maps.Clone(in.Levels), Reserved: in.Reserved, Sold: maps.Clone(in.Sold)}
}

func TestPropertyWithinPool(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		in := genInput(t, w, -10, 120)
		pool := referencePool(w, in)
		got := Allocate(w, in)

		if e := Explain(w, in); e.Pool != pool {
			t.Fatalf("Explain().Pool = %d, want %d", e.Pool, pool)
		}
		if len(got) != len(w.Bindings) {
			t.Fatalf("Allocate() returned %d channels, want %d: %v", len(got), len(w.Bindings), got)
		}
		var fixedSum int64
		for _, b := range w.Bindings {
			quantity, ok := got[b.Channel]
			if !ok {
				t.Fatalf("Allocate() lacks channel %s: %v", b.Channel, got)
			}
			if quantity > pool {
				t.Fatalf("channel %s shows %d, more than the pool %d", b.Channel, quantity, pool)
			}
			if b.Rule == RuleFixed {
				fixedSum += quantity
			}
		}
		if fixedSum > pool {
			t.Fatalf("fixed channels show %d in total, more than the pool %d", fixedSum, pool)
		}
	})
}

func TestPropertyDeterministicNonNegative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		in := genInput(t, w, -10, 120)

		first := Allocate(w, in)
		second := Allocate(w, cloneInput(in))
		if !maps.Equal(first, second) {
			t.Fatalf("Allocate() = %v, then %v for the same input", first, second)
		}
		if explained := Explain(w, in).Quantities(); !maps.Equal(first, explained) {
			t.Fatalf("Allocate() = %v but Explain().Quantities() = %v", first, explained)
		}
		for channel, quantity := range first {
			if quantity < 0 {
				t.Fatalf("channel %s shows %d, want 0 or more", channel, quantity)
			}
		}
	})
}

// TestPropertyScarcePriority checks scarce mode: a channel outside the first
// ScarceChannels shows 0, so it never shows more than a higher-priority one.
// Removing those channels leaves the top channels' numbers unchanged. Among
// the top channels the rules decide, as TestAllocateRules shows.
func TestPropertyScarcePriority(t *testing.T) {
	scarceRuns := 0
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		if w.ScarceAt == 0 {
			w.ScarceAt = rapid.Int64Range(1, 40).Draw(t, "forcedScarceAt")
		}
		in := genInput(t, w, -10, 30)
		pool := referencePool(w, in)
		if w.ScarceAt == 0 || pool > w.ScarceAt {
			return
		}
		scarceRuns++

		got := Allocate(w, in)
		top := max(1, w.ScarceChannels)
		for j := top; j < len(w.Bindings); j++ {
			lower := w.Bindings[j].Channel
			if got[lower] != 0 {
				t.Fatalf("scarce mode: channel %s at priority %d shows %d, want 0", lower, j, got[lower])
			}
			for i := range j {
				higher := w.Bindings[i].Channel
				if got[higher] < got[lower] {
					t.Fatalf("scarce mode: %s shows %d, less than lower-priority %s with %d", higher, got[higher], lower, got[lower])
				}
			}
		}

		onlyTop := w
		onlyTop.Bindings = w.Bindings[:min(top, len(w.Bindings))]
		withoutLower := Allocate(onlyTop, in)
		for channel, quantity := range withoutLower {
			if got[channel] != quantity {
				t.Fatalf("scarce mode: top channel %s shows %d, but %d without the lower-priority bindings", channel, got[channel], quantity)
			}
		}
	})
	t.Logf("%d generated cases met the conditions", scarceRuns)
	if scarceRuns == 0 {
		t.Error("no generated case was in scarce mode")
	}
}

// TestPropertyMoreStockNeverLowers checks monotonicity in stock, except
// where the extra stock ends scarce mode, as the package documentation
// describes.
func TestPropertyMoreStockNeverLowers(t *testing.T) {
	comparedRuns := 0
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		in := genInput(t, w, -10, 120)
		more := cloneInput(in)
		id := rapid.SampledFrom(warehouseIDs).Draw(t, "warehouse")
		more.Levels[id] += rapid.Int64Range(1, 60).Draw(t, "added")

		before, after := Explain(w, in), Explain(w, more)
		if before.Scarce != after.Scarce {
			return
		}
		comparedRuns++

		for _, b := range w.Bindings {
			was, is := before.Quantities()[b.Channel], after.Quantities()[b.Channel]
			if is < was {
				t.Fatalf("channel %s dropped from %d to %d when %s grew\nbefore:\n%v\nafter:\n%v", b.Channel, was, is, id, before, after)
			}
		}
	})
	t.Logf("%d generated cases met the conditions", comparedRuns)
	if comparedRuns == 0 {
		t.Error("no generated case kept the scarce mode")
	}
}

// TestPropertyMoreReservedNeverRaises checks that a new reservation of
// shared stock, with Sold unchanged, never raises a channel's number while
// scarce mode stays the same.
func TestPropertyMoreReservedNeverRaises(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		in := genInput(t, w, -10, 120)
		more := cloneInput(in)
		more.Reserved += rapid.Int64Range(1, 60).Draw(t, "reserved")

		before, after := Explain(w, in), Explain(w, more)
		if before.Scarce != after.Scarce {
			return
		}
		for _, b := range w.Bindings {
			was, is := before.Quantities()[b.Channel], after.Quantities()[b.Channel]
			if is > was {
				t.Fatalf("channel %s rose from %d to %d after a reservation\nbefore:\n%v\nafter:\n%v", b.Channel, was, is, before, after)
			}
		}
	})
}

// TestPropertyFixedOrdersIsolated checks failure isolation: orders that
// take units from a fixed channel's carve-out leave every other channel's
// number unchanged while scarce mode stays off and every carve-out was
// full before the orders.
func TestPropertyFixedOrdersIsolated(t *testing.T) {
	isolatedRuns := 0
	rapid.Check(t, func(t *rapid.T) {
		w := genWarehouse(t)
		// Insert one fixed binding at a random priority so that every case
		// has a carve-out to order from.
		position := rapid.IntRange(0, len(w.Bindings)).Draw(t, "position")
		extra := Binding{Channel: "extra", Rule: RuleFixed, Quantity: rapid.Int64Range(1, 60).Draw(t, "extraQuantity")}
		w.Bindings = slices.Insert(w.Bindings, position, extra)

		var fixed []Binding
		for _, b := range w.Bindings {
			if b.Rule == RuleFixed && b.Quantity > 0 {
				fixed = append(fixed, b)
			}
		}
		in := genInput(t, w, 100, 500)
		target := rapid.SampledFrom(fixed).Draw(t, "target")
		remaining := target.Quantity - in.Sold[target.Channel]
		if remaining == 0 {
			return
		}

		ordered := cloneInput(in)
		units := rapid.Int64Range(1, remaining).Draw(t, "units")
		ordered.Sold[target.Channel] += units
		ordered.Reserved += units

		before, after := Explain(w, in), Explain(w, ordered)
		if before.Scarce || after.Scarce {
			return
		}
		for i, b := range w.Bindings {
			if b.Rule == RuleFixed && before.Bindings[i].CarveOut < b.Quantity-in.Sold[b.Channel] {
				return
			}
		}
		isolatedRuns++

		for _, b := range w.Bindings {
			if b.Channel == target.Channel {
				continue
			}
			was, is := before.Quantities()[b.Channel], after.Quantities()[b.Channel]
			if is != was {
				t.Fatalf("channel %s changed from %d to %d after %d orders on %s\nbefore:\n%v\nafter:\n%v",
					b.Channel, was, is, units, target.Channel, before, after)
			}
		}
	})
	t.Logf("%d generated cases met the conditions", isolatedRuns)
	if isolatedRuns == 0 {
		t.Error("no generated case met the isolation conditions")
	}
}

// TestPropertyInvalidConfigBounded checks that any configuration, valid or
// not, and extreme inputs give numbers between 0 and the pool without a
// panic.
func TestPropertyInvalidConfigBounded(t *testing.T) {
	anyInt64 := rapid.OneOf(
		rapid.Int64Range(-100, 100),
		rapid.SampledFrom([]int64{math.MinInt64, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}),
	)
	rapid.Check(t, func(t *rapid.T) {
		w := Warehouse{
			Warehouses:     rapid.SliceOfN(rapid.SampledFrom(warehouseIDs), 0, 5).Draw(t, "warehouses"),
			Buffer:         anyInt64.Draw(t, "buffer"),
			ScarceAt:       anyInt64.Draw(t, "scarceAt"),
			ScarceChannels: rapid.IntRange(-3, 6).Draw(t, "scarceChannels"),
		}
		for range rapid.IntRange(0, 6).Draw(t, "bindings") {
			w.Bindings = append(w.Bindings, Binding{
				Channel:  rapid.SampledFrom([]string{"a", "b", "c", ""}).Draw(t, "channel"),
				Rule:     rapid.SampledFrom([]string{RuleAll, RuleFixed, RuleShare, "", "rest"}).Draw(t, "rule"),
				Quantity: anyInt64.Draw(t, "quantity"),
				Percent:  rapid.IntRange(-200, 300).Draw(t, "percent"),
				Cap:      anyInt64.Draw(t, "cap"),
				Min:      anyInt64.Draw(t, "min"),
			})
		}
		in := Input{
			Levels:   rapid.MapOf(rapid.SampledFrom(warehouseIDs), anyInt64).Draw(t, "levels"),
			Reserved: anyInt64.Draw(t, "reserved"),
			Sold:     rapid.MapOf(rapid.SampledFrom([]string{"a", "b", "c"}), anyInt64).Draw(t, "sold"),
		}

		e := Explain(w, in)
		if e.Pool < 0 {
			t.Fatalf("Pool = %d, want 0 or more", e.Pool)
		}
		var fixedSum int64
		for _, step := range e.Bindings {
			if step.Final < 0 || step.Final > e.Pool {
				t.Fatalf("channel %q shows %d, want 0..%d\n%v", step.Channel, step.Final, e.Pool, e)
			}
			fixedSum += step.CarveOut
		}
		if fixedSum > e.Pool {
			t.Fatalf("carve-outs sum to %d, more than the pool %d\n%v", fixedSum, e.Pool, e)
		}
	})
}
