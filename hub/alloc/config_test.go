package alloc

import (
	"strings"
	"testing"
)

func validWarehouse() Warehouse {
	return Warehouse{
		Name:           "main",
		Warehouses:     []string{"wh-main", "wh-north"},
		Buffer:         2,
		ScarceAt:       3,
		ScarceChannels: 1,
		Bindings: []Binding{
			{Channel: "web", Rule: RuleAll, Min: 1},
			{Channel: "ozon", Rule: RuleShare, Percent: 40, Cap: 100},
			{Channel: "wildberries", Rule: RuleFixed, Quantity: 50},
		},
	}
}

func TestValidateAcceptsValidConfig(t *testing.T) {
	w := validWarehouse()
	if err := w.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}

	w.Warehouses = nil
	w.ScarceAt = 0
	w.ScarceChannels = 0
	if err := w.Validate(); err != nil {
		t.Fatalf("Validate() with defaults = %v, want nil", err)
	}
}

func TestValidateNamesInvalidField(t *testing.T) {
	tests := []struct {
		name   string
		modify func(w *Warehouse)
		want   string
	}{
		{"empty name", func(w *Warehouse) { w.Name = "" }, "name is empty"},
		{"empty warehouse id", func(w *Warehouse) { w.Warehouses[1] = "" }, "warehouses[1] is empty"},
		{"duplicate warehouse", func(w *Warehouse) { w.Warehouses[1] = "wh-main" }, `warehouses[1] "wh-main" is listed twice`},
		{"negative buffer", func(w *Warehouse) { w.Buffer = -1 }, "buffer is -1"},
		{"negative scarce_at", func(w *Warehouse) { w.ScarceAt = -5 }, "scarce_at is -5"},
		{"negative scarce_channels", func(w *Warehouse) { w.ScarceChannels = -1 }, "scarce_channels is -1"},
		{"no bindings", func(w *Warehouse) { w.Bindings = nil }, "bindings is empty"},
		{"empty channel", func(w *Warehouse) { w.Bindings[0].Channel = "" }, "bindings[0].channel is empty"},
		{"duplicate channel", func(w *Warehouse) { w.Bindings[2].Channel = "web" }, `bindings[2].channel "web" is already bound in bindings[0]`},
		{"missing rule", func(w *Warehouse) { w.Bindings[0].Rule = "" }, "bindings[0] (web): rule is missing"},
		{"unknown rule", func(w *Warehouse) { w.Bindings[0].Rule = "rest" }, `bindings[0] (web): rule "rest" is unknown`},
		{"percent above 100", func(w *Warehouse) { w.Bindings[1].Percent = 120 }, "bindings[1] (ozon): percent is 120; expected 0..100"},
		{"negative percent", func(w *Warehouse) { w.Bindings[1].Percent = -1 }, "bindings[1] (ozon): percent is -1"},
		{"percent on fixed", func(w *Warehouse) { w.Bindings[2].Percent = 10 }, "percent is 10 but applies only to rule share"},
		{"negative quantity", func(w *Warehouse) { w.Bindings[2].Quantity = -50 }, "bindings[2] (wildberries): quantity is -50"},
		{"quantity on all", func(w *Warehouse) { w.Bindings[0].Quantity = 50 }, "quantity is 50 but applies only to rule fixed"},
		{"negative cap", func(w *Warehouse) { w.Bindings[0].Cap = -1 }, "cap is -1"},
		{"negative min", func(w *Warehouse) { w.Bindings[0].Min = -1 }, "min is -1"},
		{"min above cap", func(w *Warehouse) { w.Bindings[1].Min = 101 }, "min 101 is above cap 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := validWarehouse()
			tt.modify(&w)

			err := w.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	w := validWarehouse()
	w.Buffer = -1
	w.Bindings[0].Rule = "rest"
	w.Bindings[1].Percent = 120

	err := w.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want three problems")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 3 {
		t.Errorf("Validate() listed %d problems, want 3:\n%v", got, err)
	}
}
