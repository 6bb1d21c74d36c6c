package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"obmenhub/retry"
)

// Request is one call to the vendor API.
type Request struct {
	// Method is the HTTP method, such as http.MethodPost.
	Method string
	// Path is appended to Config.BaseURL and may contain {name}
	// placeholders filled from PathParams.
	Path       string
	PathParams map[string]string
	// Body is encoded as JSON.
	Body any
	// AcceptStatus lists statuses other than 2xx whose responses the caller
	// reads itself, such as Wildberries' 409 with rejected items. Do
	// returns them with a nil error.
	AcceptStatus []int
	// LogAttrs are added to every log line about this request. Put ids
	// here, never secrets.
	LogAttrs []slog.Attr
}

// Response is a vendor's response that Do accepted.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Client sends requests for one channel account. It is safe for
// concurrent use.
type Client struct {
	cfg     Config
	http    *resty.Client
	limiter *rate.Limiter
	breaker *gobreaker.CircuitBreaker[*Response]

	mu       sync.Mutex
	openedAt time.Time // Config.Clock time when the breaker last opened
}

// New returns a Client for cfg, with defaults filled in.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg}
	c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst)

	c.http = resty.New().
		SetBaseURL(cfg.BaseURL).
		SetTimeout(cfg.Timeout).
		SetHeaders(cfg.Headers).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetRetryCount(0).
		SetLogger(restyLogger{cfg.Logger})
	if cfg.Transport != nil {
		c.http.SetTransport(cfg.Transport)
	}

	c.breaker = gobreaker.NewCircuitBreaker[*Response](gobreaker.Settings{
		Name:        cfg.Channel,
		MaxRequests: cfg.Breaker.HalfOpenRequests,
		Timeout:     cfg.Breaker.OpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= cfg.Breaker.ConsecutiveFailures
		},
		IsSuccessful:  func(err error) bool { return err == nil || retry.Classify(err) == retry.ClassPermanent },
		IsExcluded:    isExcludedFromBreaker,
		OnStateChange: c.onBreakerStateChange,
	})
	return c, nil
}

// isExcludedFromBreaker leaves out responses that tell nothing about the
// vendor's health: rate limiting and the caller's own cancellation.
func isExcludedFromBreaker(err error) bool {
	var callerDone *callerDoneError
	return retry.Classify(err) == retry.ClassDeferred || errors.As(err, &callerDone)
}

func (c *Client) onBreakerStateChange(name string, from, to gobreaker.State) {
	if to == gobreaker.StateOpen {
		c.mu.Lock()
		c.openedAt = c.cfg.Clock.Now()
		c.mu.Unlock()
	}
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	// The logger names the channel already; name is gobreaker's own.
	c.cfg.Logger.Log(context.Background(), level, "circuit breaker state changed",
		slog.String("breaker", name), slog.String("from", from.String()), slog.String("to", to.String()))
}

// BreakerState returns the breaker's state: "closed", "half-open" or "open".
func (c *Client) BreakerState() string { return c.breaker.State().String() }

// Do sends req, waiting on the rate limiter before every attempt and
// retrying per Config.Policy. It returns the response when its status is 2xx
// or listed in req.AcceptStatus, and otherwise an error that wraps a retry
// class (see the package documentation).
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	log := c.cfg.Logger.With(slog.String("method", req.Method), slog.String("path", req.Path))
	for _, a := range req.LogAttrs {
		log = log.With(a)
	}

	policy := c.cfg.Policy
	callerOnRetry := policy.OnRetry
	policy.OnRetry = func(attempt int, err error, delay time.Duration) {
		log.Warn("request failed, trying again", slog.Int("attempt", attempt), slog.Duration("delay", delay), slog.Any("error", err))
		if callerOnRetry != nil {
			callerOnRetry(attempt, err, delay)
		}
	}

	var resp *Response
	err := policy.Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.attempt(ctx, req)
		return err
	})
	if err != nil {
		log.Error("request failed", slog.String("class", retry.Classify(err).String()), slog.Any("error", err))
		return nil, err
	}
	return resp, nil
}

// attempt performs one try: rate-limiter wait, breaker check, send.
func (c *Client) attempt(ctx context.Context, req Request) (*Response, error) {
	if err := c.waitForLimiter(ctx); err != nil {
		return nil, err
	}

	resp, err := c.breaker.Execute(func() (*Response, error) { return c.send(ctx, req) })
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		c.mu.Lock()
		until := c.openedAt.Add(c.cfg.Breaker.OpenTimeout)
		c.mu.Unlock()
		return nil, &retry.DeferredError{Until: until, Err: fmt.Errorf("%s: circuit breaker is open after repeated failures", c.cfg.Channel)}
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		// Half-open and the trial requests are taken. Their answers decide
		// the state soon, so a short wait is enough.
		until := c.cfg.Clock.Now().Add(c.cfg.Policy.WithDefaults().BaseDelay)
		return nil, &retry.DeferredError{Until: until, Err: fmt.Errorf("%s: circuit breaker is half-open and its trial requests are in flight", c.cfg.Channel)}
	}
	return resp, err
}

// waitForLimiter takes a token from the limiter, sleeping on Config.Clock
// until it is due. When the wait would outlast ctx, it returns the token
// and a *retry.DeferredError that says when to come back.
func (c *Client) waitForLimiter(ctx context.Context) error {
	now := c.cfg.Clock.Now()
	reservation := c.limiter.ReserveN(now, 1)
	if !reservation.OK() {
		return retry.Permanent(fmt.Errorf("%s: rate limiter burst is below one request", c.cfg.Channel))
	}
	delay := reservation.DelayFrom(now)
	if delay <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
		reservation.CancelAt(now)
		return &retry.DeferredError{Until: now.Add(delay), Err: fmt.Errorf("%s: client rate limit of %v requests/s reached", c.cfg.Channel, c.cfg.RatePerSecond)}
	}
	if err := c.cfg.Clock.Sleep(ctx, delay); err != nil {
		reservation.CancelAt(now)
		return &callerDoneError{err: err}
	}
	return nil
}

// send performs the HTTP exchange and classifies its outcome.
func (c *Client) send(ctx context.Context, req Request) (*Response, error) {
	r := c.http.R().SetContext(ctx)
	if req.Body != nil {
		r.SetBody(req.Body)
	}
	if len(req.PathParams) > 0 {
		r.SetPathParams(req.PathParams)
	}

	raw, err := r.Execute(req.Method, req.Path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &callerDoneError{err: ctx.Err()}
		}
		return nil, transportError(c.cfg.Channel, c.cfg.Timeout, err)
	}

	resp := &Response{StatusCode: raw.StatusCode(), Header: raw.Header(), Body: raw.Body()}
	if (resp.StatusCode >= 200 && resp.StatusCode < 300) || slices.Contains(req.AcceptStatus, resp.StatusCode) {
		return resp, nil
	}
	return nil, ClassifyStatus(c.cfg.Channel, resp, c.cfg.Clock.Now())
}

// callerDoneError is the caller's context ending during a request. It is
// retriable, as errors without a class are, and the breaker ignores it.
type callerDoneError struct{ err error }

func (e *callerDoneError) Error() string { return "request abandoned: " + e.err.Error() }
func (e *callerDoneError) Unwrap() error { return e.err }

// restyLogger sends resty's own warnings to slog.
type restyLogger struct{ log *slog.Logger }

func (l restyLogger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l restyLogger) Warnf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l restyLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
