// Package httpx is the outbound HTTP transport that channel adapters share:
// a resty client behind a token-bucket rate limiter (golang.org/x/time/rate)
// and a circuit breaker (sony/gobreaker/v2), with retries of whole requests
// per a retry.Policy.
//
// Every error that Client.Do returns wraps one retry class:
//   - an open breaker, a rate-limit wait past the context's deadline, and a
//     429 answer with Retry-After or X-Ratelimit-Retry give a *retry.DeferredError;
//   - timeouts, lost connections, 5xx, 408, 409 and a 429 without a delay
//     header are retriable;
//   - any other 4xx is permanent, and 401 and 403 say to check the credentials.
package httpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"obmenhub/retry"
)

// Config configures a Client. Adapters fill the rate fields with their
// vendor's documented limits.
type Config struct {
	// Channel names the sales channel in logs, errors and the breaker name,
	// for example "ozon". Required.
	Channel string
	// BaseURL is the scheme and host of the vendor API, such as
	// https://api-seller.ozon.ru. Required.
	BaseURL string
	// Timeout bounds one attempt of a request, from sending to reading the
	// whole body. Default 30 s.
	Timeout time.Duration
	// RatePerSecond is the sustained rate of requests that the limiter
	// lets through. Required, greater than 0.
	RatePerSecond float64
	// Burst is the number of requests the limiter lets through at once
	// after an idle period. Default 1.
	Burst int
	// Policy retries failed requests. Its Clock is replaced by Clock.
	Policy retry.Policy
	// Breaker configures the circuit breaker.
	Breaker BreakerConfig
	// Clock is the time source of the limiter, the retries and the
	// breaker's reported reopen time. Default retry.SystemClock().
	Clock retry.Clock
	// Logger receives retries, breaker state changes and failures.
	// Default slog.Default().
	Logger *slog.Logger
	// Headers are sent with every request, for example credentials. They
	// are never logged.
	Headers map[string]string
	// Transport replaces the default HTTP transport, for tests.
	Transport http.RoundTripper
}

// BreakerConfig configures the circuit breaker of a Client. Only failures
// that point at the vendor's side count: timeouts, lost connections and
// 5xx answers. Permanent 4xx answers count as successes, and 429 answers
// are not counted.
type BreakerConfig struct {
	// ConsecutiveFailures opens the breaker when that many requests in a
	// row fail. Default 5.
	ConsecutiveFailures uint32
	// OpenTimeout is how long the breaker stays open before it lets trial
	// requests through. Default 30 s. The breaker measures it on the wall
	// clock, whatever Config.Clock is.
	OpenTimeout time.Duration
	// HalfOpenRequests is the number of trial requests let through while
	// half-open. Default 1.
	HalfOpenRequests uint32
}

// Defaults of Config and BreakerConfig fields.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultBurst               = 1
	DefaultConsecutiveFailures = 5
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenRequests    = 1
)

func (c *Config) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.Clock == nil {
		c.Clock = retry.SystemClock()
	}
	c.Policy.Clock = c.Clock
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Breaker.ConsecutiveFailures == 0 {
		c.Breaker.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if c.Breaker.OpenTimeout == 0 {
		c.Breaker.OpenTimeout = DefaultOpenTimeout
	}
	if c.Breaker.HalfOpenRequests == 0 {
		c.Breaker.HalfOpenRequests = DefaultHalfOpenRequests
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Channel == "" {
		errs = append(errs, errors.New("Channel is missing"))
	}
	if c.BaseURL == "" {
		errs = append(errs, errors.New("BaseURL is missing"))
	}
	if c.RatePerSecond <= 0 {
		errs = append(errs, fmt.Errorf("RatePerSecond is %v, must be greater than 0", c.RatePerSecond))
	}
	if c.Burst < 1 {
		errs = append(errs, fmt.Errorf("Burst is %d, must be at least 1", c.Burst))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Timeout is %s, must not be negative", c.Timeout))
	}
	if c.Breaker.OpenTimeout < 0 {
		errs = append(errs, fmt.Errorf("Breaker.OpenTimeout is %s, must not be negative", c.Breaker.OpenTimeout))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("httpx config for channel %q: %w", c.Channel, err)
	}
	return nil
}
