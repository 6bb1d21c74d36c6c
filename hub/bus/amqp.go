package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Defaults of AMQPConfig.
const (
	DefaultPrefix           = "obmenhub"
	DefaultPrefetch         = 16
	DefaultDeliveryLimit    = 20
	DefaultReconnectInitial = 500 * time.Millisecond
	DefaultReconnectMax     = 30 * time.Second
	DefaultConnectionName   = "obmenhub"
)

// AMQPConfig configures the RabbitMQ bus. Zero fields take the defaults
// named in their comments.
type AMQPConfig struct {
	// URL is the RabbitMQ URL, such as amqp://hub:secret@mq:5672/. Required.
	// The caller reads it from the environment variable that bus.url_env
	// names. Logs show it only through RedactURL.
	URL string
	// Prefix starts the name of every exchange and queue the bus declares,
	// so that several hubs can share one virtual host. Default "obmenhub".
	Prefix string
	// Channels lists the sales channels whose queues NewAMQP declares at
	// once. A fanout exchange drops an event that no queue is bound to, so
	// only a channel listed here keeps the events published before its
	// consumer first subscribes. SubscriberFor declares the queue of any
	// other channel on first use.
	Channels []string
	// Prefetch is the consumer prefetch count (basic.qos): how many
	// unacknowledged messages RabbitMQ sends to one consumer ahead. The
	// Watermill consumer hands over one message at a time and acks it before
	// taking the next, so a prefetch above 1 only saves the round trip per
	// message. Default 16, about 1 MB of 1000-SKU events per consumer.
	Prefetch int
	// DeliveryLimit is the x-delivery-limit of each channel queue: a message
	// that has been returned to the queue this many times goes to the
	// dead-letter queue on its next return. Keep it above the attempts the
	// consumer counts itself, because a lost consumer connection also
	// returns its unacknowledged messages. Default 20.
	DeliveryLimit int
	// ReconnectInitial is the first wait before dialing again after the
	// connection is lost. The wait grows by half after each failed dial up
	// to ReconnectMax, and the bus dials until it is closed. Defaults 500 ms
	// and 30 s.
	ReconnectInitial time.Duration
	ReconnectMax     time.Duration
	// ConnectionName is the client-provided connection name that
	// rabbitmqctl list_connections and the management UI show, with
	// "-publish" or "-consume" appended. Default "obmenhub".
	ConnectionName string
}

// nameRule is the set of characters RabbitMQ allows in exchange names and
// that this package allows in queue names too.
var nameRule = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

func (c *AMQPConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Prefetch == 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.DeliveryLimit == 0 {
		c.DeliveryLimit = DefaultDeliveryLimit
	}
	if c.ReconnectInitial == 0 {
		c.ReconnectInitial = DefaultReconnectInitial
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ConnectionName == "" {
		c.ConnectionName = DefaultConnectionName
	}
}

func (c *AMQPConfig) validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("bus URL is empty; set the environment variable that bus.url_env names, such as amqp://hub:secret@mq:5672/"))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		// The parse error repeats the URL with its password, so it is not shown.
		errs = append(errs, fmt.Errorf("bus URL %s is invalid; use amqp://user:password@host:5672/vhost or amqps://", RedactURL(c.URL)))
	}
	if !nameRule.MatchString(c.Prefix) {
		errs = append(errs, fmt.Errorf("bus prefix %q is invalid; use letters, digits and _ . : -", c.Prefix))
	}
	for _, ch := range c.Channels {
		if err := validateChannelName(ch); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Prefetch < 1 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("bus prefetch %d is out of range; use 1 to 65535", c.Prefetch))
	}
	if c.DeliveryLimit < 1 {
		errs = append(errs, fmt.Errorf("bus delivery limit %d is invalid; use 1 or more", c.DeliveryLimit))
	}
	if c.ReconnectInitial < 0 || c.ReconnectMax < c.ReconnectInitial {
		errs = append(errs, fmt.Errorf("bus reconnect waits %s to %s are invalid; the initial wait must be positive and at most the maximum", c.ReconnectInitial, c.ReconnectMax))
	}
	return errors.Join(errs...)
}

func validateChannelName(channel string) error {
	if !nameRule.MatchString(channel) {
		return fmt.Errorf("sales channel name %q is invalid for a queue name; use letters, digits and _ . : -", channel)
	}
	return nil
}

// ExchangeName returns the name of the durable fanout exchange that carries
// topic, such as obmenhub.stock.changed.
func (c AMQPConfig) ExchangeName(topic string) string {
	return c.prefix() + "." + topic
}

// QueueName returns the name of the durable quorum queue through which the
// sales channel consumes topic, such as obmenhub.stock.changed.ozon.
func (c AMQPConfig) QueueName(topic, channel string) string {
	return c.prefix() + "." + topic + "." + channel
}

// DeadLetterExchangeName returns the name of the fanout exchange that every
// channel queue dead-letters to, such as obmenhub.dlx.
func (c AMQPConfig) DeadLetterExchangeName() string {
	return c.prefix() + ".dlx"
}

// DeadLetterQueueName returns the name of the queue that keeps dead-lettered
// messages, such as obmenhub.dead-letter.
func (c AMQPConfig) DeadLetterQueueName() string {
	return c.prefix() + ".dead-letter"
}

func (c AMQPConfig) prefix() string {
	if c.Prefix == "" {
		return DefaultPrefix
	}
	return c.Prefix
}

// RedactURL returns rawURL with its password replaced by "xxxxx", for logs
// and errors. A URL that does not parse becomes "(invalid URL)".
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// queueArguments returns the arguments of every channel queue. RabbitMQ
// rejects a later declaration with other arguments (PRECONDITION_FAILED), so
// changing DeliveryLimit on an existing queue takes a policy or a new queue.
func (c AMQPConfig) queueArguments() amqp.Table {
	return amqp.Table{
		"x-queue-type": "quorum",
		// One consumer at a time per queue, so a channel's vendor rate
		// limit holds however many hub instances run. The others wait and
		// take over when it goes away.
		"x-single-active-consumer": true,
		"x-delivery-limit":         int64(c.DeliveryLimit),
		"x-dead-letter-exchange":   c.DeadLetterExchangeName(),
	}
}

// watermillConfig returns the watermill-amqp configuration shared by the
// publisher and the subscribers. queueName is nil for the publisher.
func (c AMQPConfig) watermillConfig(role string, queueName wamqp.QueueNameGenerator) wamqp.Config {
	cfg := wamqp.NewDurablePubSubConfig(c.URL, queueName)
	cfg.Connection.AmqpConfig = &amqp.Config{
		Properties: amqp.Table{"connection_name": c.ConnectionName + "-" + role},
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
	}
	cfg.Connection.Reconnect = &wamqp.ReconnectConfig{
		BackoffInitialInterval:     c.ReconnectInitial,
		BackoffRandomizationFactor: 0.5,
		BackoffMultiplier:          1.5,
		BackoffMaxInterval:         c.ReconnectMax,
	}
	cfg.Marshaler = marshaler{}
	cfg.Exchange.GenerateName = c.ExchangeName
	cfg.Queue.Arguments = c.queueArguments()
	// Publish waits for the broker's confirm of each message before it
	// sends the next, because watermill-amqp v3.0.2 works this way. That
	// is fast enough: BenchmarkPublishConfirmed measures it. Concurrent
	// Publish calls each have their own confirm in flight.
	cfg.Publish.ConfirmDelivery = true
	// NOTE: ChannelPoolSize stays 0, so each Publish call opens and closes
	// its own AMQP channel. The pooled provider of watermill-amqp v3.0.2
	// drops a channel from the pool when reopening it fails during a
	// reconnect, and Publish blocks forever once the pool is empty.
	cfg.Publish.ChannelPoolSize = 0
	cfg.Consume.Qos = wamqp.QosConfig{PrefetchCount: c.Prefetch}
	return cfg
}

// NewAMQP connects to RabbitMQ at cfg.URL, declares the topology that
// docs/architecture.md describes under "RabbitMQ topology", and returns a
// bus whose publisher waits for the broker's confirms. It keeps two
// connections: one for publishing and one that every consumer shares. Both
// reconnect on their own after a loss.
func NewAMQP(cfg AMQPConfig, log *slog.Logger) (*Bus, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	wl := watermill.NewSlogLogger(log)
	safeURL := RedactURL(cfg.URL)

	subCfg := cfg.watermillConfig("consume", nil)
	subConn, err := wamqp.NewConnection(subCfg.Connection, wl)
	if err != nil {
		return nil, fmt.Errorf("connect to RabbitMQ at %s: %w", safeURL, redactError(err, cfg.URL))
	}
	if err := declareTopology(subConn.Connection(), cfg); err != nil {
		_ = subConn.Close()
		return nil, fmt.Errorf("declare RabbitMQ topology at %s: %w", safeURL, err)
	}

	pub, err := wamqp.NewPublisher(cfg.watermillConfig("publish", nil), wl)
	if err != nil {
		_ = subConn.Close()
		return nil, fmt.Errorf("connect RabbitMQ publisher to %s: %w", safeURL, redactError(err, cfg.URL))
	}

	subs := &amqpSubscribers{cfg: cfg, conn: subConn, logger: wl}
	log.Info("connected to RabbitMQ", "url", safeURL, "prefix", cfg.Prefix,
		"prefetch", cfg.Prefetch, "delivery_limit", cfg.DeliveryLimit, "channels", len(cfg.Channels))
	return &Bus{
		Publisher:     pub,
		Logger:        wl,
		subscriberFor: subs.subscriberFor,
		close: func() error {
			// Subscribers first: the shared connection waits for their
			// consumers to stop before it closes.
			return errors.Join(subs.close(), pub.Close())
		},
	}, nil
}

// declareTopology declares the dead-letter path, the event exchange and the
// queues of cfg.Channels. Declaring is idempotent while the arguments stay
// the same.
func declareTopology(conn *amqp.Connection, cfg AMQPConfig) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()

	dlx, dlq := cfg.DeadLetterExchangeName(), cfg.DeadLetterQueueName()
	if err := ch.ExchangeDeclare(dlx, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare dead-letter exchange %s: %w", dlx, err)
	}
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return fmt.Errorf("declare dead-letter queue %s: %w", dlq, err)
	}
	if err := ch.QueueBind(dlq, "", dlx, false, nil); err != nil {
		return fmt.Errorf("bind dead-letter queue %s to %s: %w", dlq, dlx, err)
	}

	exchange := cfg.ExchangeName(TopicStockChanged)
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", exchange, err)
	}
	for _, channel := range cfg.Channels {
		queue := cfg.QueueName(TopicStockChanged, channel)
		if _, err := ch.QueueDeclare(queue, true, false, false, false, cfg.queueArguments()); err != nil {
			return fmt.Errorf("declare queue %s: %w", queue, err)
		}
		if err := ch.QueueBind(queue, "", exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s: %w", queue, exchange, err)
		}
	}
	return nil
}

// redactError returns err with every copy of rawURL replaced by its
// redacted form, because amqp091-go's dial errors may quote the URL.
func redactError(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	if _, ok := u.User.Password(); !ok {
		return err
	}
	msg := err.Error()
	redacted := strings.ReplaceAll(msg, rawURL, RedactURL(rawURL))
	if redacted == msg {
		return err
	}
	return errors.New(redacted)
}

// amqpSubscribers creates the per-channel subscribers on the shared consumer
// connection and closes them with the bus.
type amqpSubscribers struct {
	cfg    AMQPConfig
	conn   *wamqp.ConnectionWrapper
	logger watermill.LoggerAdapter

	mu     sync.Mutex
	subs   []*wamqp.Subscriber
	closed bool
}

func (s *amqpSubscribers) subscriberFor(channel string) (message.Subscriber, error) {
	if err := validateChannelName(channel); err != nil {
		return nil, err
	}
	queueName := func(topic string) string { return s.cfg.QueueName(topic, channel) }
	sub, err := wamqp.NewSubscriberWithConnection(s.cfg.watermillConfig("consume", queueName), s.logger, s.conn)
	if err != nil {
		return nil, fmt.Errorf("create RabbitMQ subscriber of channel %s: %w", channel, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = sub.Close()
		return nil, fmt.Errorf("create RabbitMQ subscriber of channel %s: bus is closed", channel)
	}
	s.subs = append(s.subs, sub)
	return sub, nil
}

func (s *amqpSubscribers) close() error {
	s.mu.Lock()
	s.closed = true
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()

	var errs []error
	for _, sub := range subs {
		errs = append(errs, sub.Close())
	}
	errs = append(errs, s.conn.Close())
	return errors.Join(errs...)
}
