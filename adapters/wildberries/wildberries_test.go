package wildberries_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

const warehouse = 507

func newPair(t *testing.T) (*wildberries.Adapter, *wbsim.Server) {
	t.Helper()
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sim := wbsim.NewTest(t, wbsim.Config{Clock: clock})
	a, err := wildberries.New(wildberries.Config{BaseURL: sim.URL, Token: "sim-token", WarehouseID: warehouse, Clock: clock, Policy: retry.Policy{Jitter: retry.JitterNone}})
	if err != nil {
		t.Fatal(err)
	}
	return a, sim
}

func TestNonNumericChrtID(t *testing.T) {
	a, sim := newPair(t)
	items := []adapters.StockItem{
		{SKU: "BAD-1", ExternalID: "12a", Quantity: 1},
		{SKU: "OK-1", ExternalID: "777", Quantity: 3},
		{SKU: "BAD-2", ExternalID: "", Quantity: 1},
	}
	res, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if retry.Classify(res[i].Err) != retry.ClassPermanent {
			t.Errorf("item %s: %v, want permanent", items[i].SKU, res[i].Err)
		}
		if !strings.Contains(res[i].Err.Error(), items[i].SKU) || !strings.Contains(res[i].Err.Error(), `"`+items[i].ExternalID+`"`) {
			t.Errorf("error %q does not name SKU %s and value %q", res[i].Err, items[i].SKU, items[i].ExternalID)
		}
	}
	if res[1].Err != nil {
		t.Errorf("valid item: %v", res[1].Err)
	}
	if got, _ := sim.Stock("777", warehouse); got != 3 {
		t.Errorf("stock = %d, want 3", got)
	}
}

func TestConflictCodes(t *testing.T) {
	tests := []struct {
		code string
		want retry.Class
	}{
		{"NotFound", retry.ClassPermanent},
		{"CargoWarehouseRestrictionMGT", retry.ClassPermanent},
		{"StoreIsProcessing", retry.ClassRetriable},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			a, sim := newPair(t)
			sim.FailItem(11, tc.code)
			res, err := a.PushStock(context.Background(), []adapters.StockItem{
				{SKU: "A", ExternalID: "11", Quantity: 1},
				{SKU: "B", ExternalID: "12", Quantity: 2},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != tc.want {
				t.Errorf("rejected item: class %s (%v), want %s", got, res[0].Err, tc.want)
			}
			if got := retry.Classify(res[1].Err); got != retry.ClassRetriable {
				t.Errorf("other item: class %s (%v), want retriable", got, res[1].Err)
			}
		})
	}
}
