package retry

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names that carry a server's requested delay.
const (
	// HeaderRetryAfter is the standard header (RFC 9110, section 10.2.3):
	// a number of seconds or an HTTP-date.
	HeaderRetryAfter = "Retry-After"
	// HeaderWBRatelimitRetry is Wildberries' header on a 429 answer: the
	// number of seconds to wait before the next request.
	HeaderWBRatelimitRetry = "X-Ratelimit-Retry"
)

// ParseRetryAfter parses a Retry-After value, either delay-seconds or an
// HTTP-date, into a delay from now. A date in the past gives a zero delay.
// It returns false for an empty or malformed value.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if d, ok := parseSeconds(value); ok {
		return d, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// parseSeconds parses a non-negative number of seconds. Fractions are
// accepted because some servers send them, although RFC 9110 does not.
func parseSeconds(value string) (time.Duration, bool) {
	seconds, err := strconv.ParseFloat(value, 64)
	if err != nil || seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return 0, false
	}
	const maxSeconds = float64(math.MaxInt64 / int64(time.Second))
	return time.Duration(math.Min(seconds, maxSeconds) * float64(time.Second)), true
}

// DelayFromHeader returns the delay that the server asks for in h:
// Wildberries' X-Ratelimit-Retry (seconds) when present and valid, else
// Retry-After. It returns false when neither header gives a usable delay.
func DelayFromHeader(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := parseSeconds(strings.TrimSpace(h.Get(HeaderWBRatelimitRetry))); ok {
		return d, true
	}
	return ParseRetryAfter(h.Get(HeaderRetryAfter), now)
}

// DeferredFromResponse builds a *DeferredError for a response that asks
// the client to wait, such as 429 with Retry-After. Until is now plus the
// requested delay. It returns nil when the response carries no usable
// delay, so the caller can fall back to a retriable error.
func DeferredFromResponse(resp *http.Response, now time.Time, cause error) *DeferredError {
	if resp == nil {
		return nil
	}
	d, ok := DelayFromHeader(resp.Header, now)
	if !ok {
		return nil
	}
	if cause == nil {
		cause = fmt.Errorf("server answered %s", resp.Status)
	}
	return &DeferredError{Until: now.Add(d), Err: cause}
}
