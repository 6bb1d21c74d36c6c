package alloc

import (
	"errors"
	"fmt"
)

// Binding rules.
const (
	// RuleAll shows everything left after the carve-outs.
	RuleAll = "all"
	// RuleFixed carves Quantity units out of the pool for this channel alone.
	RuleFixed = "fixed"
	// RuleShare shows Percent of what is left after the carve-outs, rounded
	// down.
	RuleShare = "share"
)

// Warehouse is the configuration of one virtual warehouse.
type Warehouse struct {
	// Name identifies the virtual warehouse in logs and errors.
	Name string `yaml:"name"`
	// Warehouses lists the 1C warehouse ids that are pooled. Empty pools
	// every warehouse in the input.
	Warehouses []string `yaml:"warehouses"`
	// Buffer is the number of safety units subtracted from the pool.
	Buffer int64 `yaml:"buffer"`
	// ScarceAt is the pool size, after buffer and reservations, at or below
	// which only the first ScarceChannels bindings show stock. 0 turns
	// scarce mode off.
	ScarceAt int64 `yaml:"scarce_at"`
	// ScarceChannels is the number of bindings, counted in priority order,
	// that show stock in scarce mode. 0 means 1.
	ScarceChannels int `yaml:"scarce_channels"`
	// Bindings lists the channels in priority order, highest first.
	Bindings []Binding `yaml:"bindings"`
}

// Binding is the rule that decides how much of the pool one channel shows.
type Binding struct {
	// Channel is the channel name, unique within the virtual warehouse.
	Channel string `yaml:"channel"`
	// Rule is all, fixed or share.
	Rule string `yaml:"rule"`
	// Quantity is the number of units set aside for this channel alone.
	// Only for rule fixed.
	Quantity int64 `yaml:"quantity"`
	// Percent is the share, 0..100, of what is left after the carve-outs.
	// Only for rule share.
	Percent int `yaml:"percent"`
	// Cap is the maximum number the channel shows. 0 means no cap.
	Cap int64 `yaml:"cap"`
	// Min is the smallest nonzero number the channel shows: below it the
	// channel shows 0. 0 turns it off.
	Min int64 `yaml:"min"`
}

// Validate checks the configuration and returns every problem found, each
// naming the YAML field, or nil.
func (w *Warehouse) Validate() error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("virtual warehouse %q: "+format, append([]any{w.Name}, args...)...))
	}

	if w.Name == "" {
		fail("name is empty; set a name such as main-pool")
	}

	seenWarehouses := make(map[string]bool, len(w.Warehouses))
	for i, id := range w.Warehouses {
		switch {
		case id == "":
			fail("warehouses[%d] is empty; give a 1C warehouse id", i)
		case seenWarehouses[id]:
			fail("warehouses[%d] %q is listed twice", i, id)
		}
		seenWarehouses[id] = true
	}

	if w.Buffer < 0 {
		fail("buffer is %d; expected 0 or more", w.Buffer)
	}
	if w.ScarceAt < 0 {
		fail("scarce_at is %d; expected 0 (off) or more", w.ScarceAt)
	}
	if w.ScarceChannels < 0 {
		fail("scarce_channels is %d; expected 0 (means 1) or more", w.ScarceChannels)
	}

	if len(w.Bindings) == 0 {
		fail("bindings is empty; bind at least one channel")
	}
	seenChannels := make(map[string]int, len(w.Bindings))
	for i, b := range w.Bindings {
		if b.Channel == "" {
			fail("bindings[%d].channel is empty", i)
		} else if first, ok := seenChannels[b.Channel]; ok {
			fail("bindings[%d].channel %q is already bound in bindings[%d]", i, b.Channel, first)
		} else {
			seenChannels[b.Channel] = i
		}
		for _, msg := range validateBinding(b) {
			fail("bindings[%d] (%s): %s", i, b.Channel, msg)
		}
	}

	return errors.Join(errs...)
}

// validateBinding returns one message for each invalid field of b.
func validateBinding(b Binding) []string {
	var msgs []string

	switch b.Rule {
	case RuleAll, RuleFixed, RuleShare:
	case "":
		msgs = append(msgs, "rule is missing; expected all, fixed or share")
	default:
		msgs = append(msgs, fmt.Sprintf("rule %q is unknown; expected all, fixed or share", b.Rule))
	}

	switch {
	case b.Quantity < 0:
		msgs = append(msgs, fmt.Sprintf("quantity is %d; expected 0 or more", b.Quantity))
	case b.Quantity != 0 && b.Rule != RuleFixed:
		msgs = append(msgs, fmt.Sprintf("quantity is %d but applies only to rule fixed", b.Quantity))
	}

	switch {
	case b.Percent < 0 || b.Percent > 100:
		msgs = append(msgs, fmt.Sprintf("percent is %d; expected 0..100", b.Percent))
	case b.Percent != 0 && b.Rule != RuleShare:
		msgs = append(msgs, fmt.Sprintf("percent is %d but applies only to rule share", b.Percent))
	}

	if b.Cap < 0 {
		msgs = append(msgs, fmt.Sprintf("cap is %d; expected 0 (no cap) or more", b.Cap))
	}
	if b.Min < 0 {
		msgs = append(msgs, fmt.Sprintf("min is %d; expected 0 (off) or more", b.Min))
	}
	if b.Cap > 0 && b.Min > b.Cap {
		msgs = append(msgs, fmt.Sprintf("min %d is above cap %d, so the channel would always show 0", b.Min, b.Cap))
	}

	return msgs
}
