package alloc

import (
	"fmt"
	"strings"
)

// String formats the explanation as lines of text for an operator, such as:
//
//	virtual warehouse "main": stock 60 = wh-main 60
//	pool 60 = stock 60 - buffer 0 - reserved 0
//	scarce mode off (scarce_at 2): all 3 bindings active
//	carved out 50, shared 10
//	web-store: all, raw 10, capped 10, final 10
//	retail: all, raw 10, capped 10, final 10
//	wildberries: fixed, sold 0, carve-out 50, raw 50, capped 50, final 50
func (e Explanation) String() string {
	var sb strings.Builder

	levels := make([]string, len(e.Levels))
	for i, level := range e.Levels {
		if level.Counted == level.Level {
			levels[i] = fmt.Sprintf("%s %d", level.Warehouse, level.Level)
		} else {
			levels[i] = fmt.Sprintf("%s %d (level %d)", level.Warehouse, level.Counted, level.Level)
		}
	}
	if len(levels) == 0 {
		levels = []string{"no warehouses"}
	}
	fmt.Fprintf(&sb, "virtual warehouse %q: stock %d = %s\n", e.Warehouse, e.Stock, strings.Join(levels, " + "))
	fmt.Fprintf(&sb, "pool %d = stock %d - buffer %d - reserved %d\n", e.Pool, e.Stock, e.Buffer, e.Reserved)

	switch {
	case e.ScarceAt == 0:
		fmt.Fprintf(&sb, "scarce mode off (scarce_at 0): all %d bindings active\n", len(e.Bindings))
	case e.Scarce:
		fmt.Fprintf(&sb, "scarce mode on (pool %d <= scarce_at %d): first %d of %d bindings active\n",
			e.Pool, e.ScarceAt, e.ActiveBindings, len(e.Bindings))
	default:
		fmt.Fprintf(&sb, "scarce mode off (scarce_at %d): all %d bindings active\n", e.ScarceAt, len(e.Bindings))
	}
	fmt.Fprintf(&sb, "carved out %d, shared %d\n", e.CarvedOut, e.Shared)

	for _, step := range e.Bindings {
		fmt.Fprintf(&sb, "%s: %s", step.Channel, step.Rule)
		if step.Rule == RuleFixed {
			fmt.Fprintf(&sb, ", sold %d", step.Sold)
		}
		if !step.Active {
			sb.WriteString(", inactive in scarce mode, final 0\n")
			continue
		}
		if step.Rule == RuleFixed {
			fmt.Fprintf(&sb, ", carve-out %d", step.CarveOut)
		}
		fmt.Fprintf(&sb, ", raw %d, capped %d, final %d\n", step.Raw, step.Capped, step.Final)
	}
	return sb.String()
}
