package insales

import (
	"encoding/json"
	"fmt"

	"obmenhub/adapters"
)

var _ adapters.OrderWebhook = (*Adapter)(nil)

// ParseWebhookOrder reads the body of an InSales order webhook (orders/create
// or orders/update), which carries the order in the shape of the orders
// list, and returns it as the hub's order.
func (a *Adapter) ParseWebhookOrder(body []byte) (adapters.Order, error) {
	var o shopOrder
	if err := json.Unmarshal(body, &o); err != nil {
		return adapters.Order{}, fmt.Errorf("insales: webhook body is not an order: %w", err)
	}
	if o.ID == 0 {
		return adapters.Order{}, fmt.Errorf("insales: webhook order has no id")
	}
	return a.shopOrderOf(o)
}
