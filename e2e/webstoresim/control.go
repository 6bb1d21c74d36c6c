package webstoresim

import (
	"maps"
	"time"
)

// FailNext makes the next n webhook requests fail with 500, before their
// signature is checked.
func (s *Server) FailNext(n int) {
	s.faults.FailNext(n)
}

// DelayNext makes the server wait d of real time before it responds to the
// next webhook request, to let a client time out.
func (s *Server) DelayNext(d time.Duration) {
	s.faults.DelayNext(d)
}

// LimitNext makes the next n correctly signed webhook requests get 429
// with Retry-After set to retryAfter, rounded up to whole seconds.
func (s *Server) LimitNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitNext = n
	s.limitDelay = retryAfter
}

// RejectSKU makes the store list every item of sku as rejected with
// message, retriable or not, until AcceptSKU.
func (s *Server) RejectSKU(sku, message string, retriable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejections[sku] = Rejection{Message: message, Retriable: retriable}
}

// AcceptSKU undoes RejectSKU.
func (s *Server) AcceptSKU(sku string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rejections, sku)
}

// Stock returns the stock last set for sku.
func (s *Server) Stock(sku string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.stock[sku]
	return v, ok
}

// Price returns the price last set for sku.
func (s *Server) Price(sku string) (Price, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.prices[sku]
	return v, ok
}

// Snapshot returns a copy of every stock set so far, by SKU.
func (s *Server) Snapshot() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.stock)
}

// Prices returns a copy of every price set so far, by SKU.
func (s *Server) Prices() map[string]Price {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.prices)
}

// StockHistory returns every stock value accepted for sku, oldest first.
func (s *Server) StockHistory(sku string) []StockUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StockUpdate(nil), s.stockHistory[sku]...)
}

// PriceHistory returns every price accepted for sku, oldest first.
func (s *Server) PriceHistory(sku string) []PriceUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PriceUpdate(nil), s.priceHistory[sku]...)
}

// Deliveries returns the ids of the webhooks applied, in arrival order;
// a repeated delivery is listed once.
func (s *Server) Deliveries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deliveries...)
}

// Agents returns the User-Agent of every applied webhook, in arrival
// order.
func (s *Server) Agents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.agents...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
