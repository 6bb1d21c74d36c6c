package alloc

import (
	"maps"
	"math"
	"strings"
	"testing"
)

// scenarioWarehouse is the motivating setup: the web store and retail share
// the stock, Wildberries has 50 units of its own, and at 2 units or fewer
// only the web store shows stock.
func scenarioWarehouse() Warehouse {
	return Warehouse{
		Name:           "main",
		Warehouses:     []string{"wh-main"},
		ScarceAt:       2,
		ScarceChannels: 1,
		Bindings: []Binding{
			{Channel: "web", Rule: RuleAll},
			{Channel: "retail", Rule: RuleAll},
			{Channel: "wildberries", Rule: RuleFixed, Quantity: 50},
		},
	}
}

func TestAllocateScenario(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want map[string]int64
	}{
		{
			name: "full stock",
			in:   Input{Levels: map[string]int64{"wh-main": 60}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 50},
		},
		{
			name: "other warehouses not pooled",
			in:   Input{Levels: map[string]int64{"wh-main": 60, "wh-north": 100}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 50},
		},
		{
			name: "wildberries orders reserve all 50",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 50, Sold: map[string]int64{"wildberries": 50}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 0},
		},
		{
			name: "wildberries orders reserve 20",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 20, Sold: map[string]int64{"wildberries": 20}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 30},
		},
		{
			name: "wildberries reports more sold than its quantity",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 50, Sold: map[string]int64{"wildberries": 80}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 0},
		},
		{
			// Without Sold the hub cannot tell whose orders the reservations
			// are, so they come out of the pool and the carve-out refills
			// from the shared stock.
			name: "wildberries reservations missing from sold",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 50},
			want: map[string]int64{"web": 0, "retail": 0, "wildberries": 10},
		},
		{
			name: "sold above reserved counts only reserved",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 10, Sold: map[string]int64{"wildberries": 50}},
			want: map[string]int64{"web": 10, "retail": 10, "wildberries": 40},
		},
		{
			// After 1C posts the sale and the reservation closes, the
			// carve-out is refilled to its quantity from what remains.
			name: "wildberries sale posted in 1C",
			in:   Input{Levels: map[string]int64{"wh-main": 10}},
			want: map[string]int64{"web": 0, "retail": 0, "wildberries": 10},
		},
		{
			name: "two units left in stock",
			in:   Input{Levels: map[string]int64{"wh-main": 2}},
			want: map[string]int64{"web": 2, "retail": 0, "wildberries": 0},
		},
		{
			name: "two units left after reservations",
			in:   Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 58},
			want: map[string]int64{"web": 2, "retail": 0, "wildberries": 0},
		},
		{
			// Scarce mode ends above 2 units and the Wildberries carve-out
			// takes everything: the one exception to monotonicity.
			name: "three units left",
			in:   Input{Levels: map[string]int64{"wh-main": 3}},
			want: map[string]int64{"web": 0, "retail": 0, "wildberries": 3},
		},
		{
			name: "negative level",
			in:   Input{Levels: map[string]int64{"wh-main": -4}},
			want: map[string]int64{"web": 0, "retail": 0, "wildberries": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(scenarioWarehouse(), tt.in)
			if !maps.Equal(got, tt.want) {
				t.Errorf("Allocate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAllocateRules(t *testing.T) {
	tests := []struct {
		name string
		w    Warehouse
		in   Input
		want map[string]int64
	}{
		{
			name: "share rounds down",
			w: Warehouse{Bindings: []Binding{
				{Channel: "ozon", Rule: RuleShare, Percent: 33},
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 10}},
			want: map[string]int64{"ozon": 3, "web": 10},
		},
		{
			name: "share of what is left after carve-outs",
			w: Warehouse{Bindings: []Binding{
				{Channel: "ozon", Rule: RuleShare, Percent: 50},
				{Channel: "wildberries", Rule: RuleFixed, Quantity: 20},
			}},
			in:   Input{Levels: map[string]int64{"a": 30}},
			want: map[string]int64{"ozon": 5, "wildberries": 20},
		},
		{
			name: "carve-outs in priority order",
			w: Warehouse{Bindings: []Binding{
				{Channel: "ozon", Rule: RuleFixed, Quantity: 8},
				{Channel: "wildberries", Rule: RuleFixed, Quantity: 8},
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 10}},
			want: map[string]int64{"ozon": 8, "wildberries": 2, "web": 0},
		},
		{
			name: "empty warehouse list pools all",
			w: Warehouse{Buffer: 5, Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 10, "b": 7, "c": -3}, Reserved: 2},
			want: map[string]int64{"web": 10},
		},
		{
			name: "missing chosen warehouse counts as zero",
			w: Warehouse{Warehouses: []string{"a", "gone"}, Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 4}},
			want: map[string]int64{"web": 4},
		},
		{
			name: "buffer and reservations above stock",
			w: Warehouse{Buffer: 5, Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 4}, Reserved: 3},
			want: map[string]int64{"web": 0},
		},
		{
			name: "stock saturates instead of overflowing",
			w: Warehouse{Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
				{Channel: "ozon", Rule: RuleShare, Percent: 50},
			}},
			in:   Input{Levels: map[string]int64{"a": math.MaxInt64, "b": 5}},
			want: map[string]int64{"web": math.MaxInt64, "ozon": math.MaxInt64 / 2},
		},
		{
			name: "cap lowers the value",
			w: Warehouse{Bindings: []Binding{
				{Channel: "web", Rule: RuleAll, Cap: 7},
			}},
			in:   Input{Levels: map[string]int64{"a": 10}},
			want: map[string]int64{"web": 7},
		},
		{
			name: "min hides a small value",
			w: Warehouse{Bindings: []Binding{
				{Channel: "web", Rule: RuleAll, Min: 5},
				{Channel: "retail", Rule: RuleAll, Min: 4},
			}},
			in:   Input{Levels: map[string]int64{"a": 4}},
			want: map[string]int64{"web": 0, "retail": 4},
		},
		{
			name: "hidden carve-out stays set aside",
			w: Warehouse{Bindings: []Binding{
				{Channel: "wildberries", Rule: RuleFixed, Quantity: 20, Cap: 5},
				{Channel: "ozon", Rule: RuleFixed, Quantity: 20, Min: 25},
				{Channel: "web", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 50}},
			want: map[string]int64{"wildberries": 5, "ozon": 0, "web": 10},
		},
		{
			name: "scarce top channels follow their rules",
			w: Warehouse{ScarceAt: 10, ScarceChannels: 2, Bindings: []Binding{
				{Channel: "web", Rule: RuleShare, Percent: 50},
				{Channel: "retail", Rule: RuleAll},
				{Channel: "ozon", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 8}},
			want: map[string]int64{"web": 4, "retail": 8, "ozon": 0},
		},
		{
			name: "scarce top fixed channel still carves",
			w: Warehouse{ScarceAt: 10, ScarceChannels: 2, Bindings: []Binding{
				{Channel: "wildberries", Rule: RuleFixed, Quantity: 3},
				{Channel: "web", Rule: RuleAll},
				{Channel: "ozon", Rule: RuleFixed, Quantity: 3},
			}},
			in:   Input{Levels: map[string]int64{"a": 8}},
			want: map[string]int64{"wildberries": 3, "web": 5, "ozon": 0},
		},
		{
			name: "scarce channels default to one",
			w: Warehouse{ScarceAt: 10, Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
				{Channel: "retail", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 10}},
			want: map[string]int64{"web": 10, "retail": 0},
		},
		{
			name: "scarce mode off at zero",
			w: Warehouse{Bindings: []Binding{
				{Channel: "web", Rule: RuleAll},
				{Channel: "retail", Rule: RuleAll},
			}},
			in:   Input{Levels: map[string]int64{"a": 0}},
			want: map[string]int64{"web": 0, "retail": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(tt.w, tt.in)
			if !maps.Equal(got, tt.want) {
				t.Errorf("Allocate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAllocateInvalidConfig(t *testing.T) {
	w := Warehouse{
		Buffer:   -10,
		ScarceAt: -1,
		Bindings: []Binding{
			{Channel: "web", Rule: "rest"},
			{Channel: "ozon", Rule: RuleShare, Percent: 250},
			{Channel: "wildberries", Rule: RuleFixed, Quantity: -5, Cap: -1, Min: -1},
			{Channel: "ozon", Rule: RuleAll},
		},
	}
	got := Allocate(w, Input{Levels: map[string]int64{"a": 10}, Reserved: -3})

	want := map[string]int64{"web": 0, "ozon": 10, "wildberries": 0}
	if !maps.Equal(got, want) {
		t.Errorf("Allocate() = %v, want %v", got, want)
	}
}

func TestExplainScenarioSteps(t *testing.T) {
	in := Input{Levels: map[string]int64{"wh-main": 60}, Reserved: 20, Sold: map[string]int64{"wildberries": 20}}
	e := Explain(scenarioWarehouse(), in)

	if e.Stock != 60 {
		t.Errorf("Stock = %d, want 60", e.Stock)
	}
	if e.Pool != 40 {
		t.Errorf("Pool = %d, want 40", e.Pool)
	}
	if e.Scarce {
		t.Error("Scarce = true, want false")
	}
	if e.CarvedOut != 30 {
		t.Errorf("CarvedOut = %d, want 30", e.CarvedOut)
	}
	if e.Shared != 10 {
		t.Errorf("Shared = %d, want 10", e.Shared)
	}
	wildberries := e.Bindings[2]
	if wildberries.Sold != 20 {
		t.Errorf("wildberries Sold = %d, want 20", wildberries.Sold)
	}
	if wildberries.CarveOut != 30 {
		t.Errorf("wildberries CarveOut = %d, want 30", wildberries.CarveOut)
	}
	if got := e.Quantities(); !maps.Equal(got, Allocate(scenarioWarehouse(), in)) {
		t.Errorf("Quantities() = %v, want the result of Allocate", got)
	}
}

func TestExplanationString(t *testing.T) {
	e := Explain(scenarioWarehouse(), Input{Levels: map[string]int64{"wh-main": 60}})
	want := `virtual warehouse "main": stock 60 = wh-main 60
pool 60 = stock 60 - buffer 0 - reserved 0
scarce mode off (scarce_at 2): all 3 bindings active
carved out 50, shared 10
web: all, raw 10, capped 10, final 10
retail: all, raw 10, capped 10, final 10
wildberries: fixed, sold 0, carve-out 50, raw 50, capped 50, final 50
`
	if got := e.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}

	scarce := Explain(scenarioWarehouse(), Input{Levels: map[string]int64{"wh-main": -1}}).String()
	for _, line := range []string{
		"stock 0 = wh-main 0 (level -1)",
		"scarce mode on (pool 0 <= scarce_at 2): first 1 of 3 bindings active",
		"retail: all, inactive in scarce mode, final 0",
	} {
		if !strings.Contains(scarce, line) {
			t.Errorf("String() in scarce mode lacks %q:\n%s", line, scarce)
		}
	}
}
