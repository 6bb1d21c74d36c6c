package simkit

import (
	"sync"
	"time"
)

// Update is one accepted stock value of a key, in arrival order.
type Update struct {
	Value int64
	// Agent is the request's User-Agent, which names the hub instance.
	Agent string
	At    time.Time
}

// StockLog records the stock a simulator accepted: the last value per key,
// every value in arrival order, and the User-Agent of every request that
// updated stock. It is safe for concurrent use; the zero value is ready.
type StockLog[K comparable] struct {
	mu      sync.Mutex
	stock   map[K]int64
	history map[K][]Update
	agents  []string
}

// Request records that a request from agent updated stock.
func (l *StockLog[K]) Request(agent string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.agents = append(l.agents, agent)
}

// Set records value for key, sent by agent at at.
func (l *StockLog[K]) Set(key K, value int64, agent string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stock == nil {
		l.stock = make(map[K]int64)
		l.history = make(map[K][]Update)
	}
	l.stock[key] = value
	l.history[key] = append(l.history[key], Update{Value: value, Agent: agent, At: at})
}

// Get returns the last value of key.
func (l *StockLog[K]) Get(key K) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.stock[key]
	return v, ok
}

// Snapshot returns a copy of the last value of every key.
func (l *StockLog[K]) Snapshot() map[K]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[K]int64, len(l.stock))
	for k, v := range l.stock {
		out[k] = v
	}
	return out
}

// History returns every value accepted for key, oldest first.
func (l *StockLog[K]) History(key K) []Update {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Update(nil), l.history[key]...)
}

// Histories returns the history of every key.
func (l *StockLog[K]) Histories() map[K][]Update {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[K][]Update, len(l.history))
	for k, h := range l.history {
		out[k] = append([]Update(nil), h...)
	}
	return out
}

// Agents returns the User-Agent of every request that updated stock, in
// arrival order.
func (l *StockLog[K]) Agents() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.agents...)
}
