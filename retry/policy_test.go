package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func TestBackoff(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		attempt int
		want    time.Duration
	}{
		{"none first", Policy{Jitter: JitterNone, BaseDelay: time.Second}, 1, time.Second},
		{"none third doubles twice", Policy{Jitter: JitterNone, BaseDelay: time.Second}, 3, 4 * time.Second},
		{"none capped", Policy{Jitter: JitterNone, BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 10, 5 * time.Second},
		{"none huge attempt capped", Policy{Jitter: JitterNone, BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 10000, 5 * time.Second},
		{"full takes fraction", Policy{Jitter: JitterFull, BaseDelay: time.Second, Rand: fixedRand(0.25)}, 2, 500 * time.Millisecond},
		{"full zero rand", Policy{Jitter: JitterFull, BaseDelay: time.Second, Rand: fixedRand(0)}, 2, 0},
		{"equal keeps half", Policy{Jitter: JitterEqual, BaseDelay: time.Second, Rand: fixedRand(0)}, 2, time.Second},
		{"equal upper", Policy{Jitter: JitterEqual, BaseDelay: time.Second, Rand: fixedRand(0.5)}, 2, 1500 * time.Millisecond},
		{"multiplier three", Policy{Jitter: JitterNone, BaseDelay: time.Second, Multiplier: 3}, 3, 9 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.WithDefaults().Backoff(tc.attempt)
			if got != tc.want {
				t.Errorf("Backoff(%d) = %s, want %s", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		wantErr bool
	}{
		{"zero value is valid", Policy{}, false},
		{"negative attempts", Policy{MaxAttempts: -1}, true},
		{"max below base", Policy{BaseDelay: 2 * time.Second, MaxDelay: time.Second}, true},
		{"multiplier below one", Policy{Multiplier: 0.5}, true},
		{"unknown jitter", Policy{Jitter: Jitter(7)}, true},
		{"negative defer wait", Policy{MaxDeferWait: -time.Second}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// script returns an op that returns errs in order, then nil, and counts calls.
func script(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

func TestDo(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		policy    Policy
		errs      []error
		wantCalls int
		wantClass Class
		wantSlept time.Duration
	}{
		{
			name:      "success first try",
			wantCalls: 1, wantClass: ClassNone,
		},
		{
			name:      "retriable then success",
			errs:      []error{Retriable(boom), Retriable(boom)},
			wantCalls: 3, wantClass: ClassNone,
			wantSlept: 500*time.Millisecond + time.Second,
		},
		{
			name:      "unclassified error is retried",
			errs:      []error{boom},
			wantCalls: 2, wantClass: ClassNone,
			wantSlept: 500 * time.Millisecond,
		},
		{
			name:      "attempts run out",
			policy:    Policy{MaxAttempts: 3},
			errs:      []error{Retriable(boom), Retriable(boom), Retriable(boom), Retriable(boom)},
			wantCalls: 3, wantClass: ClassRetriable,
			wantSlept: 500*time.Millisecond + time.Second,
		},
		{
			name:      "permanent stops at once",
			errs:      []error{Permanent(boom)},
			wantCalls: 1, wantClass: ClassPermanent,
		},
		{
			name:   "deferrals spend no attempts",
			policy: Policy{MaxAttempts: 2},
			errs: []error{
				&DeferredError{Until: t0.Add(2 * time.Second), Err: boom},
				&DeferredError{Until: t0.Add(5 * time.Second), Err: boom},
				Retriable(boom),
			},
			wantCalls: 4, wantClass: ClassNone,
			wantSlept: 5*time.Second + 500*time.Millisecond,
		},
		{
			name:      "long deferral returned",
			policy:    Policy{MaxDeferWait: 10 * time.Second},
			errs:      []error{&DeferredError{Until: t0.Add(time.Minute), Err: boom}},
			wantCalls: 1, wantClass: ClassDeferred,
		},
		{
			name:   "deferral count bounded",
			policy: Policy{MaxDeferrals: 2},
			errs: []error{
				&DeferredError{Until: t0.Add(time.Second), Err: boom},
				&DeferredError{Until: t0.Add(2 * time.Second), Err: boom},
				&DeferredError{Until: t0.Add(3 * time.Second), Err: boom},
			},
			wantCalls: 3, wantClass: ClassDeferred,
			wantSlept: 2 * time.Second,
		},
		{
			name:      "delay hint raises backoff",
			errs:      []error{WithDelay(Retriable(boom), 7*time.Second)},
			wantCalls: 2, wantClass: ClassNone,
			wantSlept: 7 * time.Second,
		},
		{
			name:      "delay hint beyond defer wait returned",
			policy:    Policy{MaxDeferWait: 5 * time.Second},
			errs:      []error{WithDelay(Retriable(boom), 7*time.Second)},
			wantCalls: 1, wantClass: ClassRetriable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewManualClock(t0)
			p := tc.policy
			p.Clock = clock
			p.Jitter = JitterNone
			op, calls := script(tc.errs...)

			err := p.Do(context.Background(), op)

			if got := Classify(err); got != tc.wantClass {
				t.Errorf("class = %s (err %v), want %s", got, err, tc.wantClass)
			}
			if *calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", *calls, tc.wantCalls)
			}
			if slept, _ := clock.Slept(); slept != tc.wantSlept {
				t.Errorf("slept = %s, want %s", slept, tc.wantSlept)
			}
		})
	}
}

func TestDoStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Clock: NewManualClock(t0)}
	calls := 0
	err := p.Do(ctx, func(context.Context) error {
		calls++
		cancel()
		return Retriable(errors.New("boom"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("calls = %d, want 1", calls)
	}
}

func TestDoReportsRetries(t *testing.T) {
	var attempts []int
	p := Policy{
		Clock:   NewManualClock(t0),
		Jitter:  JitterNone,
		OnRetry: func(attempt int, err error, _ time.Duration) { attempts = append(attempts, attempt) },
	}
	op, _ := script(Retriable(errors.New("a")), &DeferredError{Until: t0, Err: errors.New("b")}, Retriable(errors.New("c")))
	if err := p.Do(context.Background(), op); err != nil {
		t.Fatalf("Do: %v", err)
	}
	want := []int{1, 1, 2}
	if len(attempts) != len(want) {
		t.Fatalf("OnRetry attempts = %v, want %v", attempts, want)
	}
	for i := range want {
		if attempts[i] != want[i] {
			t.Errorf("OnRetry attempts = %v, want %v", attempts, want)
			break
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"padded", " 3 ", 3 * time.Second, true},
		{"fraction", "1.5", 1500 * time.Millisecond, true},
		{"http date", t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"past date", t0.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"rfc850 date", t0.Add(10 * time.Second).Format("Monday, 02-Jan-06 15:04:05 GMT"), 10 * time.Second, true},
		{"empty", "", 0, false},
		{"negative", "-5", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tc.value, t0)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestDeferredFromResponse(t *testing.T) {
	tests := []struct {
		name      string
		header    http.Header
		wantUntil time.Time
		wantNil   bool
	}{
		{"wildberries header", http.Header{"X-Ratelimit-Retry": {"4"}}, t0.Add(4 * time.Second), false},
		{"wildberries wins over retry-after", http.Header{"X-Ratelimit-Retry": {"4"}, "Retry-After": {"60"}}, t0.Add(4 * time.Second), false},
		{"bad wildberries falls back", http.Header{"X-Ratelimit-Retry": {"x"}, "Retry-After": {"60"}}, t0.Add(time.Minute), false},
		{"retry-after seconds", http.Header{"Retry-After": {"2"}}, t0.Add(2 * time.Second), false},
		{"no header", http.Header{}, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{Status: "429 Too Many Requests", StatusCode: 429, Header: tc.header}
			got := DeferredFromResponse(resp, t0, nil)
			if tc.wantNil {
				if got != nil {
					t.Errorf("DeferredFromResponse = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("DeferredFromResponse = nil, want a deferral")
			}
			if !got.Until.Equal(tc.wantUntil) {
				t.Errorf("Until = %s, want %s", got.Until, tc.wantUntil)
			}
			if Classify(got) != ClassDeferred {
				t.Errorf("class = %s, want deferred", Classify(got))
			}
		})
	}
}
