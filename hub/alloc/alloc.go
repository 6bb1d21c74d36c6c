package alloc

import (
	"math"
	"sort"
)

// Input is the stock of one SKU.
type Input struct {
	// Levels maps a 1C warehouse id to its stock in whole units. A negative
	// level counts as 0.
	Levels map[string]int64
	// Reserved is the number of units held by active reservations of this
	// SKU, on every channel.
	Reserved int64
	// Sold maps a fixed channel to the units of Reserved that its orders took
	// from its own carve-out. Nil means none, and entries for channels that
	// are not fixed are ignored. See the package documentation on failure
	// isolation.
	Sold map[string]int64
}

// Explanation lists every step of one allocation, for an operator.
type Explanation struct {
	Warehouse string `json:"warehouse"`
	// Levels lists the pooled 1C warehouses: in configuration order, or
	// sorted by id when the configuration pools every warehouse.
	Levels []LevelStep `json:"levels"`
	// Stock is the sum of the counted levels.
	Stock    int64 `json:"stock"`
	Buffer   int64 `json:"buffer"`
	Reserved int64 `json:"reserved"`
	// Pool is Stock − Buffer − Reserved, and never below 0.
	Pool     int64 `json:"pool"`
	ScarceAt int64 `json:"scarce_at"`
	// Scarce reports whether scarce mode is on.
	Scarce bool `json:"scarce"`
	// ActiveBindings is the number of bindings, counted in priority order,
	// that may show stock.
	ActiveBindings int `json:"active_bindings"`
	// CarvedOut is the sum of the fixed bindings' carve-outs.
	CarvedOut int64 `json:"carved_out"`
	// Shared is the part of the pool left after the carve-outs.
	Shared   int64         `json:"shared"`
	Bindings []BindingStep `json:"bindings"`
}

// LevelStep is one pooled 1C warehouse.
type LevelStep struct {
	Warehouse string `json:"warehouse"`
	// Level is the stock in the input, 0 when the warehouse is missing.
	Level int64 `json:"level"`
	// Counted is the level added to the stock: max(0, Level).
	Counted int64 `json:"counted"`
}

// BindingStep is the computation of one binding, in priority order.
type BindingStep struct {
	Channel string `json:"channel"`
	Rule    string `json:"rule"`
	// Active is false for a binding that shows 0 because scarce mode is on
	// and it is not among the first ScarceChannels bindings.
	Active bool `json:"active"`
	// Sold is the part of Reserved counted against the carve-out. Fixed
	// bindings only.
	Sold int64 `json:"sold"`
	// CarveOut is the number of units set aside for this channel alone.
	// Fixed bindings only.
	CarveOut int64 `json:"carve_out"`
	// Raw is the number given by the rule, before Cap and Min.
	Raw int64 `json:"raw"`
	// Capped is Raw lowered to Cap.
	Capped int64 `json:"capped"`
	// Final is the number the channel shows: Capped, or 0 when Capped is
	// below Min.
	Final int64 `json:"final"`
}

// Allocate returns the number of units each bound channel shows for one
// SKU. The steps are described in the package documentation.
//
// Allocate expects a configuration that passed Validate. For an invalid one
// it still returns numbers between 0 and the pool. Negative settings count
// as 0 and Percent is clamped to 0..100. A binding with an unknown rule
// shows 0, and a channel bound twice gets the number of its first binding.
func Allocate(w Warehouse, in Input) map[string]int64 {
	return Explain(w, in).Quantities()
}

// Explain computes the same numbers as Allocate and records every step.
func Explain(w Warehouse, in Input) Explanation {
	e := Explanation{
		Warehouse: w.Name,
		Buffer:    max(0, w.Buffer),
		Reserved:  max(0, in.Reserved),
		ScarceAt:  max(0, w.ScarceAt),
	}

	e.Levels = pooledLevels(w.Warehouses, in.Levels)
	for _, level := range e.Levels {
		e.Stock = addSaturated(e.Stock, level.Counted)
	}
	// Subtracting one term at a time keeps both steps free of overflow,
	// because every term is non-negative.
	e.Pool = max(0, e.Stock-e.Buffer)
	e.Pool = max(0, e.Pool-e.Reserved)

	e.ActiveBindings = len(w.Bindings)
	if e.ScarceAt > 0 && e.Pool <= e.ScarceAt {
		e.Scarce = true
		e.ActiveBindings = min(len(w.Bindings), max(1, w.ScarceChannels))
	}

	e.Bindings = make([]BindingStep, len(w.Bindings))
	for i, b := range w.Bindings {
		e.Bindings[i] = BindingStep{Channel: b.Channel, Rule: b.Rule, Active: i < e.ActiveBindings}
	}

	carveOut(&e, w.Bindings, in.Sold)
	e.Shared = e.Pool - e.CarvedOut

	for i, b := range w.Bindings {
		step := &e.Bindings[i]
		if !step.Active {
			continue
		}
		switch b.Rule {
		case RuleAll:
			step.Raw = e.Shared
		case RuleFixed:
			step.Raw = step.CarveOut
		case RuleShare:
			step.Raw = percentOf(e.Shared, b.Percent)
		}
		step.Capped = step.Raw
		if b.Cap > 0 {
			step.Capped = min(step.Capped, b.Cap)
		}
		step.Final = step.Capped
		if b.Min > 0 && step.Final < b.Min {
			step.Final = 0
		}
	}
	return e
}

// Quantities returns the final number of each channel, keeping the first
// binding of a channel that is bound twice.
func (e Explanation) Quantities() map[string]int64 {
	quantities := make(map[string]int64, len(e.Bindings))
	for _, step := range e.Bindings {
		if _, ok := quantities[step.Channel]; !ok {
			quantities[step.Channel] = step.Final
		}
	}
	return quantities
}

// pooledLevels returns the warehouses that make up the stock: the chosen
// ones in configuration order, or every warehouse in levels sorted by id
// when none is chosen, so that the result does not depend on map order.
func pooledLevels(chosen []string, levels map[string]int64) []LevelStep {
	ids := chosen
	if len(ids) == 0 {
		ids = make([]string, 0, len(levels))
		for id := range levels {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}

	steps := make([]LevelStep, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		// An invalid configuration may list a warehouse twice. Counting it
		// once keeps the pool within the real stock.
		if seen[id] {
			continue
		}
		seen[id] = true
		level := levels[id]
		steps = append(steps, LevelStep{Warehouse: id, Level: level, Counted: max(0, level)})
	}
	return steps
}

// carveOut fills in Sold and CarveOut of the fixed bindings and the total
// e.CarvedOut. Sold units are attributed in priority order and never exceed
// e.Reserved in total, because they are a part of the reservations.
func carveOut(e *Explanation, bindings []Binding, sold map[string]int64) {
	unattributed := e.Reserved
	left := e.Pool
	for i, b := range bindings {
		if b.Rule != RuleFixed {
			continue
		}
		step := &e.Bindings[i]
		quantity := max(0, b.Quantity)

		step.Sold = min(max(0, sold[b.Channel]), quantity, unattributed)
		unattributed -= step.Sold

		if !step.Active {
			continue
		}
		step.CarveOut = min(quantity-step.Sold, left)
		left -= step.CarveOut
		e.CarvedOut += step.CarveOut
	}
}

// percentOf returns floor(n × percent / 100) for n ≥ 0 without overflow.
// Percent is clamped to 0..100.
func percentOf(n int64, percent int) int64 {
	p := int64(min(100, max(0, percent)))
	return n/100*p + n%100*p/100
}

// addSaturated returns a + b for non-negative a and b, or math.MaxInt64
// when the sum does not fit.
func addSaturated(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
