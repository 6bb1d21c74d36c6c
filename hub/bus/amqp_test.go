package bus_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"obmenhub/hub/bus"
	"obmenhub/hub/bus/bustest"
)

func TestNewAMQPRejectsInvalidConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  bus.AMQPConfig
		want string
	}{
		{"missing URL", bus.AMQPConfig{}, "bus URL is empty"},
		{"wrong scheme", bus.AMQPConfig{URL: "http://hub:topsecret42@mq:5672/"}, "bus URL http://hub:xxxxx@mq:5672/ is invalid"},
		{"prefix with space", bus.AMQPConfig{URL: defaultTestURL, Prefix: "obmen hub"}, `bus prefix "obmen hub" is invalid`},
		{"channel with slash", bus.AMQPConfig{URL: defaultTestURL, Channels: []string{"ozon/1"}}, `sales channel name "ozon/1" is invalid`},
		{"negative prefetch", bus.AMQPConfig{URL: defaultTestURL, Prefetch: -1}, "bus prefetch -1 is out of range"},
		{"negative delivery limit", bus.AMQPConfig{URL: defaultTestURL, DeliveryLimit: -2}, "bus delivery limit -2 is invalid"},
		{"reconnect max below initial", bus.AMQPConfig{URL: defaultTestURL, ReconnectInitial: time.Minute, ReconnectMax: time.Second}, "bus reconnect waits 1m0s to 1s are invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := bus.NewAMQP(c.cfg, quietLogger())
			if err == nil {
				t.Fatal("NewAMQP returned no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "topsecret42") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewAMQPHidesPasswordOnDialError(t *testing.T) {
	// Port 1 on the loopback address refuses the connection at once.
	_, err := bus.NewAMQP(bus.AMQPConfig{URL: "amqp://hub:topsecret42@127.0.0.1:1/", ReconnectMax: time.Second}, quietLogger())
	if err == nil {
		t.Fatal("NewAMQP connected to port 1")
	}
	if strings.Contains(err.Error(), "topsecret42") {
		t.Errorf("error %q shows the password", err)
	}
	if !strings.Contains(err.Error(), "amqp://hub:xxxxx@127.0.0.1:1/") {
		t.Errorf("error %q does not name the redacted URL", err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := bus.RedactURL("amqp://hub:topsecret42@mq:5672/prod"); got != "amqp://hub:xxxxx@mq:5672/prod" {
		t.Errorf("RedactURL = %q", got)
	}
	if got := bus.RedactURL("amqp://mq:5672/"); got != "amqp://mq:5672/" {
		t.Errorf("RedactURL without user = %q", got)
	}
}

func TestAMQPDeadLettersAtDeliveryLimit(t *testing.T) {
	url := brokerURL(t)
	cfg := testConfig(t, url)
	cfg.Channels = []string{"alpha"}
	cfg.DeliveryLimit = 2
	b := openAMQP(t, cfg)
	msgs := subscribeUntilEnd(t, b, "alpha")
	waitConsumers(t, cfg, "alpha", 1)

	if err := bus.PublishStockChanged(b.Publisher, "offers.xml", 9, bustest.SKUs(4)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// With x-delivery-limit 2 the broker delivers the message three times:
	// the first delivery and two redeliveries.
	for attempt := 1; attempt <= 3; attempt++ {
		msg := receiveWithin(t, msgs, 15*time.Second)
		if got := bus.DeliveryAttempt(msg); got != attempt {
			t.Errorf("delivery attempt = %d; want %d", got, attempt)
		}
		msg.Nack()
	}
	select {
	case msg := <-msgs:
		t.Fatalf("message %s delivered again past the delivery limit", msg.UUID)
	case <-time.After(time.Second):
	}

	dead := consumeDeadLetter(t, cfg)
	ev, err := bus.DecodeStockChanged(dead)
	if err != nil {
		t.Fatalf("decode dead letter: %v", err)
	}
	if ev.Seq != 9 || len(ev.SKUs) != 4 {
		t.Errorf("dead letter seq, SKUs = %d, %d; want 9, 4", ev.Seq, len(ev.SKUs))
	}
	if got := dead.Metadata.Get("x-first-death-reason"); got != "delivery_limit" {
		t.Errorf("x-first-death-reason = %q; want delivery_limit", got)
	}
	wantQueue := cfg.QueueName(bus.TopicStockChanged, "alpha")
	if got := dead.Metadata.Get("x-first-death-queue"); got != wantQueue {
		t.Errorf("x-first-death-queue = %q; want %s", got, wantQueue)
	}
	if !strings.Contains(dead.Metadata.Get("x-death"), wantQueue) {
		t.Errorf("x-death %q does not name queue %s", dead.Metadata.Get("x-death"), wantQueue)
	}
	dead.Ack()
}

// consumeDeadLetter gets one message from the dead-letter queue and decodes
// it as the bus's subscribers do.
func consumeDeadLetter(t *testing.T, cfg bus.AMQPConfig) *message.Message {
	t.Helper()
	conn, err := amqp.Dial(cfg.URL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	defer ch.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		delivery, ok, err := ch.Get(cfg.DeadLetterQueueName(), false)
		if err != nil {
			t.Fatalf("get from %s: %v", cfg.DeadLetterQueueName(), err)
		}
		if ok {
			msg, err := bus.UnmarshalAMQP(delivery)
			if err != nil {
				t.Fatalf("unmarshal dead letter: %v", err)
			}
			if err := delivery.Ack(false); err != nil {
				t.Fatalf("ack dead letter: %v", err)
			}
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter queue %s is empty after 10 s", cfg.DeadLetterQueueName())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAMQPReconnectsAfterBrokerClosesConnections(t *testing.T) {
	if raceDetector {
		// NOTE: watermill-amqp v3.0.2 replaces ConnectionWrapper.connected
		// on a lost connection without a lock while Publish and the
		// consumers read it, and the race detector reports that.
		t.Skip("the reconnect of watermill-amqp v3.0.2 has a data race")
	}
	url := brokerURL(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Skip("rabbitmqctl is not installed; it closes the connections from the broker side")
	}
	cfg := testConfig(t, url)
	cfg.Channels = []string{"alpha"}
	b := openAMQP(t, cfg)
	msgs := subscribeUntilEnd(t, b, "alpha")
	waitConsumers(t, cfg, "alpha", 1)

	if err := bus.PublishStockChanged(b.Publisher, "before.xml", 1, bustest.SKUs(2)); err != nil {
		t.Fatalf("publish before the close: %v", err)
	}
	receiveWithin(t, msgs, 15*time.Second).Ack()

	closed := closeConnections(t, cfg.ConnectionName)
	if closed != 2 {
		t.Fatalf("closed %d connections named %s-*; want the publish and consume ones", closed, cfg.ConnectionName)
	}

	// Publish fails while the publisher reconnects, so the test retries.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := bus.PublishStockChanged(b.Publisher, "after.xml", 2, bustest.SKUs(2))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the close still fails after 20 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	msg := receiveWithin(t, msgs, 20*time.Second)
	ev, err := bus.DecodeStockChanged(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ev.File != "after.xml" {
		t.Errorf("received event of %s; want after.xml", ev.File)
	}
	msg.Ack()
}

// closeConnections closes, from the broker side, every connection whose
// client-provided name starts with namePrefix, and returns how many it
// closed. It leaves the connections of other tests alone.
func closeConnections(t *testing.T, namePrefix string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "list_connections", "--quiet", "--no-table-headers", "pid", "client_properties").Output()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v", err)
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		// client_properties contains, for example,
		// {"connection_name","obmenhub-test-1a2b-consume"} (RabbitMQ 3.10).
		pid, properties, ok := strings.Cut(line, "\t")
		if !ok || !strings.Contains(properties, `{"connection_name","`+namePrefix+"-") {
			continue
		}
		if out, err := exec.Command("rabbitmqctl", "close_connection", pid, "test").CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl close_connection %s: %v: %s", pid, err, out)
		}
		closed++
	}
	return closed
}

func subscribeUntilEnd(t *testing.T, b *bus.Bus, channel string) <-chan *message.Message {
	t.Helper()
	sub, err := b.SubscriberFor(channel)
	if err != nil {
		t.Fatalf("subscriber of %s: %v", channel, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs, err := sub.Subscribe(ctx, bus.TopicStockChanged)
	if err != nil {
		t.Fatalf("subscribe %s: %v", channel, err)
	}
	return msgs
}

func receiveWithin(t *testing.T, msgs <-chan *message.Message, timeout time.Duration) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			t.Fatal("subscription closed while a message was expected")
		}
		return msg
	case <-time.After(timeout):
		t.Fatalf("no message within %s", timeout)
		return nil
	}
}
