package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"obmenhub/hub/app"
	"obmenhub/hub/bus"
	"obmenhub/hub/config"
)

// deliveryCounter is a slog handler that counts, per channel, the log
// records the hub writes for each delivery of an event it cannot handle.
type deliveryCounter struct {
	mu      *sync.Mutex
	counts  map[string]int // "channel/message" → records
	channel string
	message string
}

func newDeliveryCounter() *deliveryCounter {
	return &deliveryCounter{mu: &sync.Mutex{}, counts: map[string]int{}}
}

func (h *deliveryCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h *deliveryCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "event not handled; returned to the bus" && r.Message != "event dead-lettered" {
		return nil
	}
	channel, msg := h.channel, h.message
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "channel":
			channel = a.Value.String()
		case "message":
			msg = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.counts[channel+"/"+msg]++
	h.mu.Unlock()
	return nil
}

func (h *deliveryCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	for _, a := range attrs {
		if a.Key == "channel" {
			c.channel = a.Value.String()
		}
	}
	return &c
}

func (h *deliveryCounter) WithGroup(string) slog.Handler { return h }

func (h *deliveryCounter) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

// TestPoisonMessageDeadLetteredOnce publishes an event that no channel can
// decode. Each channel must take it bus.max_deliveries times, then store
// it as a dead letter exactly once and stop receiving it.
func TestPoisonMessageDeadLetteredOnce(t *testing.T) {
	const maxDeliveries = 4
	dir := t.TempDir()
	for _, be := range backends(t, dir) {
		t.Run(be.name, func(t *testing.T) {
			for _, kv := range be.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			t.Setenv("E2E_EXCHANGE_PASSWORD", "e2e-pass")
			t.Setenv("E2E_OZON_KEY", "e2e-ozon-key")
			t.Setenv("E2E_WB_TOKEN", "e2e-wb-token")
			mapFile := filepath.Join(t.TempDir(), "wb.csv")
			os.WriteFile(mapFile, []byte("sku,external_id\n"), 0o600)
			yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
%s
exchange: {username: 1c, password_env: E2E_EXCHANGE_PASSWORD, dir: %q}
channels:
  - {name: ozon, kind: ozon, base_url: "http://127.0.0.1:1", client_id: c, api_key_env: E2E_OZON_KEY, warehouse_id: 1}
  - {name: wildberries, kind: wildberries, base_url: "http://127.0.0.1:1", token_env: E2E_WB_TOKEN, warehouse_id: 1, binding: {by: map, file: %q}}
`, strings.Replace(be.yaml, "bus: {", fmt.Sprintf("bus: {max_deliveries: %d, ", maxDeliveries), 1), filepath.Join(dir, be.name+"-exchange"), mapFile)
			cfg, err := config.Parse([]byte(yaml), "poison.yaml")
			if err != nil {
				t.Fatal(err)
			}
			counter := newDeliveryCounter()
			a, err := app.New(context.Background(), cfg, slog.New(counter))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a.Shutdown(ctx)
			})
			for _, ch := range []string{"ozon", "wildberries"} {
				for deadline := time.Now().Add(10 * time.Second); !a.Consuming(ch); {
					if time.Now().After(deadline) {
						t.Fatalf("channel %s does not consume after 10 s", ch)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}

			poison := message.NewMessage(watermill.NewUUID(), []byte("{not json"))
			if err := a.Bus.Publisher.Publish(bus.TopicStockChanged, poison); err != nil {
				t.Fatal(err)
			}

			deadline := time.Now().Add(20 * time.Second)
			for _, ch := range []string{"ozon", "wildberries"} {
				key := ch + "/" + poison.UUID
				for counter.count(key) < maxDeliveries && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			// Give a wrongly repeated delivery the time to show up.
			time.Sleep(500 * time.Millisecond)

			for _, ch := range []string{"ozon", "wildberries"} {
				if n := counter.count(ch + "/" + poison.UUID); n != maxDeliveries {
					t.Errorf("channel %s took the poison message %d times, want %d", ch, n, maxDeliveries)
				}
			}
			letters, err := a.Store.DeadLetters(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			per := map[string]int{}
			for _, d := range letters {
				if strings.HasSuffix(d.MessageID, "/"+poison.UUID) {
					per[d.Channel]++
					if d.Attempts != maxDeliveries || d.Payload != "{not json" || d.LastError == "" {
						t.Errorf("dead letter %+v, want %d attempts, the payload and the error", d, maxDeliveries)
					}
				}
			}
			for _, ch := range []string{"ozon", "wildberries"} {
				if per[ch] != 1 {
					t.Errorf("channel %s stored %d dead letters for the poison message, want exactly 1", ch, per[ch])
				}
			}
		})
	}
}
