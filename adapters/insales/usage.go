package insales

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"obmenhub/retry"
)

// HeaderUsageLimit is the response header in which InSales reports the
// requests spent in the current window and the shop's limit, as "N/500".
const HeaderUsageLimit = "API-Usage-Limit"

// UsageWindow is the length of the InSales request window. The window
// starts at the first request of a series, and when its budget is spent
// InSales responds with 503 and Retry-After until the window ends (InSales help
// "Как сделать запрос к API"; the 503 code is what the insales_api Ruby gem
// waits on in InsalesApi.wait_retry).
const UsageWindow = 5 * time.Minute

// parseUsage parses an API-Usage-Limit value such as "12/500".
func parseUsage(value string) (used, limit int, ok bool) {
	usedText, limitText, found := strings.Cut(strings.TrimSpace(value), "/")
	if !found {
		return 0, 0, false
	}
	used, err := strconv.Atoi(strings.TrimSpace(usedText))
	if err != nil || used < 0 {
		return 0, 0, false
	}
	limit, err = strconv.Atoi(strings.TrimSpace(limitText))
	if err != nil || limit <= 0 {
		return 0, 0, false
	}
	return used, limit, true
}

// usageGuard is an http.RoundTripper that keeps the adapter inside the
// shop's request budget. It reads API-Usage-Limit from every response and
// fails a request with a *retry.DeferredError, before sending it, when the
// window's budget minus the reserve is spent. It also turns a 503 or 429
// response with Retry-After into a *retry.DeferredError, and defers every
// request until that delay has passed.
//
// The guard does not know when the shop's window started, because other
// apps of the shop share it. It assumes the window ends UsageWindow after
// the response that first showed it, which is never earlier than the real
// end, so the guard errs on the side of waiting. The guard never waits
// itself: retry.Policy, run by httpx, waits out short deferrals on the
// adapter's clock.
type usageGuard struct {
	base        http.RoundTripper
	clock       retry.Clock
	log         *slog.Logger
	maxRequests int // configured RequestsPer5Min
	reserve     int
	disabled    bool // only the Retry-After deferral is active

	mu           sync.Mutex
	used         int       // requests spent in the window, per the last header
	limit        int       // the shop's limit from the last header, 0 before any
	windowEnd    time.Time // latest possible end of the current window
	inFlight     int       // requests sent and without a response yet
	blockedUntil time.Time // end of the last Retry-After
	warned       bool      // the budget warning was logged in this window
}

func (g *usageGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.admit(); err != nil {
		return nil, err
	}
	resp, err := g.base.RoundTrip(req)
	now := g.clock.Now()
	if err != nil {
		g.settle(now, nil)
		return nil, err
	}
	g.settle(now, resp.Header)

	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
		if delay, ok := retry.ParseRetryAfter(resp.Header.Get(retry.HeaderRetryAfter), now); ok {
			return nil, g.block(now, delay, resp)
		}
	}
	return resp, nil
}

// admit reserves one request of the budget or returns the deferral.
func (g *usageGuard) admit() error {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()

	if now.Before(g.blockedUntil) {
		return &retry.DeferredError{Until: g.blockedUntil, Err: fmt.Errorf("insales: request limit reached, InSales asked to wait until %s", g.blockedUntil.UTC().Format(time.RFC3339))}
	}
	if !g.windowEnd.IsZero() && !now.Before(g.windowEnd) {
		// The window has ended for sure, so the budget is whole again. The
		// next response tells how much of it other apps have spent.
		g.used = 0
		g.windowEnd = time.Time{}
		g.warned = false
	}
	if g.disabled {
		g.inFlight++
		return nil
	}

	budget := g.budget()
	if g.used+g.inFlight < budget {
		g.inFlight++
		return nil
	}

	until := g.windowEnd
	if until.IsZero() {
		// The budget is spent by requests in flight alone, so no window is
		// known yet. Their responses come soon and start one.
		until = now.Add(time.Second)
	}
	if !g.warned {
		g.warned = true
		g.log.Warn("request budget of the window spent, deferring requests",
			slog.Int("used", g.used), slog.Int("in_flight", g.inFlight), slog.Int("budget", budget), slog.Time("until", until))
	}
	return &retry.DeferredError{Until: until, Err: fmt.Errorf("insales: %d of %d requests of the 5-minute window spent (%d held in reserve)", g.used+g.inFlight, budget+g.reserve, g.reserve)}
}

// budget returns how many requests of the window the adapter may spend:
// the smaller of the shop's limit and RequestsPer5Min, minus the reserve.
// Call with g.mu held.
func (g *usageGuard) budget() int {
	limit := g.maxRequests
	if g.limit > 0 && g.limit < limit {
		limit = g.limit
	}
	return max(limit-g.reserve, 1)
}

// settle records the response to an admitted request. header is nil when the
// request got no response.
func (g *usageGuard) settle(now time.Time, header http.Header) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight = max(g.inFlight-1, 0)
	if header == nil {
		return
	}

	used, limit, ok := parseUsage(header.Get(HeaderUsageLimit))
	if !ok {
		// Count the request anyway, so a shop that stops sending the header
		// still slows the adapter down.
		g.used++
		if g.windowEnd.IsZero() {
			g.windowEnd = now.Add(UsageWindow)
		}
		return
	}
	if g.windowEnd.IsZero() || used < g.used {
		// A new series began at or before this response, so it ends at the
		// latest UsageWindow from now.
		g.windowEnd = now.Add(UsageWindow)
		g.warned = false
	}
	g.used = used
	g.limit = limit
}

// block defers every request until now+delay and returns the deferral for
// the response resp, whose body it closes.
func (g *usageGuard) block(now time.Time, delay time.Duration, resp *http.Response) error {
	_ = resp.Body.Close()
	until := now.Add(delay)

	g.mu.Lock()
	if until.After(g.blockedUntil) {
		g.blockedUntil = until
	}
	if g.limit > 0 {
		g.used = max(g.used, g.limit)
	}
	g.mu.Unlock()

	g.log.Warn("InSales rejected a request over the request limit",
		slog.Int("status", resp.StatusCode), slog.String("usage", resp.Header.Get(HeaderUsageLimit)), slog.Time("until", until))
	return &retry.DeferredError{Until: until, Err: fmt.Errorf("insales: responded with HTTP %d with Retry-After %s: request limit reached", resp.StatusCode, delay)}
}
