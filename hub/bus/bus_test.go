package bus_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"obmenhub/hub/bus"
	"obmenhub/hub/bus/bustest"
)

// testURLEnv names the environment variable with the RabbitMQ URL of the
// tests. When it is unset, the tests use a local broker with the default
// guest account, and skip when none answers.
const testURLEnv = "OBMENHUB_TEST_AMQP_URL"

const defaultTestURL = "amqp://guest:guest@127.0.0.1:5672/"

func TestMemoryBus(t *testing.T) {
	bustest.Run(t, bustest.Target{
		Topology: func(t *testing.T) bustest.Opener {
			return func(...string) *bus.Bus {
				b := bus.NewMemory(quietLogger())
				t.Cleanup(func() { b.Close() })
				return b
			}
		},
	})
}

func TestAMQPBus(t *testing.T) {
	url := brokerURL(t)
	bustest.Run(t, bustest.Target{
		Topology: func(t *testing.T) bustest.Opener {
			cfg := testConfig(t, url)
			return func(channels ...string) *bus.Bus {
				cfg := cfg
				cfg.Channels = channels
				return openAMQP(t, cfg)
			}
		},
		Durable:              true,
		SingleActiveConsumer: true,
		Ordered:              true,
		WaitConsumers: func(t *testing.T, _ *bus.Bus, channel string, n int) {
			testConfigsMu.Lock()
			cfg := testConfigs[t.Name()]
			testConfigsMu.Unlock()
			waitConsumers(t, cfg, channel, n)
		},
	})
}

// testConfigs maps a test's name to the configuration of its topology, for
// WaitConsumers.
var (
	testConfigsMu sync.Mutex
	testConfigs   = map[string]bus.AMQPConfig{}
)

// brokerURL returns the test broker's URL, or skips t when the variable is
// unset and no local broker answers.
func brokerURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(testURLEnv)
	if url == "" {
		url = defaultTestURL
		conn, err := amqp.Dial(url)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("no RabbitMQ at %s (%v); .ci/run starts it", bus.RedactURL(url), err)
			}
			t.Skipf("no RabbitMQ at %s (%v); start one or set %s", bus.RedactURL(url), err, testURLEnv)
		}
		conn.Close()
	}
	return url
}

// testConfig returns a configuration with a prefix and connection name
// unique to t, and removes everything under that prefix when t ends.
func testConfig(t testing.TB, url string) bus.AMQPConfig {
	t.Helper()
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	prefix := "obmenhub-test-" + hex.EncodeToString(suffix)
	cfg := bus.AMQPConfig{
		URL:              url,
		Prefix:           prefix,
		ConnectionName:   prefix,
		ReconnectInitial: 100 * time.Millisecond,
		ReconnectMax:     time.Second,
	}
	testConfigsMu.Lock()
	testConfigs[t.Name()] = cfg
	testConfigsMu.Unlock()
	t.Cleanup(func() { deleteTopology(t, url, cfg) })
	return cfg
}

// openAMQP opens a bus that closes when t ends, before the topology goes.
func openAMQP(t testing.TB, cfg bus.AMQPConfig) *bus.Bus {
	t.Helper()
	b, err := bus.NewAMQP(cfg, quietLogger())
	if err != nil {
		t.Fatalf("open RabbitMQ bus: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close RabbitMQ bus: %v", err)
		}
	})
	return b
}

// deleteTopology deletes the exchanges and the queues that buses with cfg
// declare for the channels the tests use.
func deleteTopology(t testing.TB, url string, cfg bus.AMQPConfig) {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Errorf("connect to delete test topology %s: %v", cfg.Prefix, err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Errorf("open channel to delete test topology %s: %v", cfg.Prefix, err)
		return
	}
	defer ch.Close()

	queues := []string{cfg.DeadLetterQueueName()}
	for _, channel := range []string{"alpha", "beta"} {
		queues = append(queues, cfg.QueueName(bus.TopicStockChanged, channel))
	}
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			t.Errorf("delete queue %s: %v", q, err)
			return
		}
	}
	for _, ex := range []string{cfg.ExchangeName(bus.TopicStockChanged), cfg.DeadLetterExchangeName()} {
		if err := ch.ExchangeDelete(ex, false, false); err != nil {
			t.Errorf("delete exchange %s: %v", ex, err)
			return
		}
	}
}

// waitConsumers waits until the queue of channel has n consumers, counting
// the waiting ones of a single-active-consumer queue. AMQP's queue.declare
// counts only the active one, so this runs rabbitmqctl, which must manage
// the broker of the tests.
func waitConsumers(t *testing.T, cfg bus.AMQPConfig, channel string, n int) {
	t.Helper()
	queue := cfg.QueueName(bus.TopicStockChanged, channel)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command("rabbitmqctl", "list_consumers", "--quiet", "--no-table-headers", "queue_name").Output()
		if err != nil {
			t.Fatalf("rabbitmqctl list_consumers: %v", err)
		}
		count := 0
		for _, line := range strings.Split(string(out), "\n") {
			if strings.TrimSpace(line) == queue {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s has %d consumers after 15 s; want %d", queue, count, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func quietLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("OBMENHUB_TEST_BUS_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
