package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Jitter selects how Policy randomizes a backoff delay.
type Jitter int

const (
	// JitterFull draws the delay uniformly from [0, backoff].
	JitterFull Jitter = iota
	// JitterEqual draws the delay uniformly from [backoff/2, backoff].
	JitterEqual
	// JitterNone uses the backoff as it is. Meant for tests and tools.
	JitterNone
)

func (j Jitter) String() string {
	switch j {
	case JitterFull:
		return "full"
	case JitterEqual:
		return "equal"
	case JitterNone:
		return "none"
	}
	return fmt.Sprintf("Jitter(%d)", int(j))
}

// Policy decides how often and how long to wait before trying a failed
// call again. The zero value is usable: Do fills every zero field with the
// default named in its comment.
//
// A retriable failure spends one attempt and waits for the exponential
// backoff. A *DeferredError spends no attempt: Do waits until its Until when
// that is at most MaxDeferWait away, and returns it otherwise. A permanent
// failure is returned at once.
type Policy struct {
	// MaxAttempts is the number of tries of one call, the first included.
	// Default 4.
	MaxAttempts int
	// BaseDelay is the backoff before the second try. Default 500 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff before jitter is applied. Default 30 s.
	MaxDelay time.Duration
	// Multiplier is the growth factor of the backoff per try, at least 1.
	// Default 2.
	Multiplier float64
	// Jitter is the randomization of each delay. Default JitterFull.
	Jitter Jitter
	// MaxDeferWait is the longest deferral that Do waits out itself. A
	// deferral that ends later is returned to the caller, who can schedule
	// the call instead of holding a goroutine. Default 1 min.
	MaxDeferWait time.Duration
	// MaxDeferrals is the number of deferrals that one Do call waits out
	// before it returns the next one, so a server that keeps answering 429
	// cannot hold the caller for ever. Default 10.
	MaxDeferrals int
	// Rand returns a number in [0, 1) for jitter. Default math/rand/v2.Float64.
	Rand func() float64
	// Clock measures deferrals and performs the waits. Default SystemClock().
	Clock Clock
	// OnRetry, when set, is called before each wait with the number of the
	// attempt that failed (deferrals repeat the number), its error and the
	// delay. Callers use it to log retries.
	OnRetry func(attempt int, err error, delay time.Duration)
}

// Defaults of Policy fields.
const (
	DefaultMaxAttempts  = 4
	DefaultBaseDelay    = 500 * time.Millisecond
	DefaultMaxDelay     = 30 * time.Second
	DefaultMultiplier   = 2.0
	DefaultMaxDeferWait = time.Minute
	DefaultMaxDeferrals = 10
)

// WithDefaults returns a copy of p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.BaseDelay)
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultMultiplier
	}
	if p.MaxDeferWait == 0 {
		p.MaxDeferWait = DefaultMaxDeferWait
	}
	if p.MaxDeferrals == 0 {
		p.MaxDeferrals = DefaultMaxDeferrals
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	if p.Clock == nil {
		p.Clock = SystemClock()
	}
	return p
}

// Validate reports the first invalid field of p, after defaults.
func (p Policy) Validate() error {
	p = p.WithDefaults()
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("retry policy: MaxAttempts is %d, must be at least 1", p.MaxAttempts)
	case p.BaseDelay < 0:
		return fmt.Errorf("retry policy: BaseDelay is %s, must not be negative", p.BaseDelay)
	case p.MaxDelay < p.BaseDelay:
		return fmt.Errorf("retry policy: MaxDelay %s is less than BaseDelay %s", p.MaxDelay, p.BaseDelay)
	case p.Multiplier < 1 || math.IsNaN(p.Multiplier) || math.IsInf(p.Multiplier, 0):
		return fmt.Errorf("retry policy: Multiplier is %v, must be a finite number of at least 1", p.Multiplier)
	case p.Jitter < JitterFull || p.Jitter > JitterNone:
		return fmt.Errorf("retry policy: unknown Jitter %d", int(p.Jitter))
	case p.MaxDeferWait < 0:
		return fmt.Errorf("retry policy: MaxDeferWait is %s, must not be negative", p.MaxDeferWait)
	case p.MaxDeferrals < 0:
		return fmt.Errorf("retry policy: MaxDeferrals is %d, must not be negative", p.MaxDeferrals)
	}
	return nil
}

// Backoff returns the jittered delay after failed attempt number attempt
// (1 for the first try): BaseDelay*Multiplier^(attempt-1), capped at
// MaxDelay, then randomized per Jitter. Call it on a policy with defaults.
func (p Policy) Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	exp := float64(p.BaseDelay) * math.Pow(p.Multiplier, float64(attempt-1))
	capped := time.Duration(math.Min(exp, float64(p.MaxDelay)))

	switch p.Jitter {
	case JitterEqual:
		half := capped / 2
		return half + time.Duration(p.Rand()*float64(capped-half))
	case JitterNone:
		return capped
	default:
		return time.Duration(p.Rand() * float64(capped))
	}
}

// delayHintError carries the server's requested delay on a retriable error.
type delayHintError struct {
	err   error
	delay time.Duration
}

func (e *delayHintError) Error() string { return e.err.Error() }
func (e *delayHintError) Unwrap() error { return e.err }

// WithDelay attaches a server's requested delay, such as Retry-After on a
// 503, to a retriable error. Do then waits at least that long before the
// next attempt. The class of err is unchanged.
func WithDelay(err error, delay time.Duration) error {
	if err == nil {
		return nil
	}
	return &delayHintError{err: err, delay: delay}
}

// Do calls op until it succeeds, fails permanently, runs out of attempts,
// or returns a deferral that Do does not wait out (see Policy). The error
// returned keeps the retry class of op's last error. When ctx ends during a
// wait, Do returns op's last error joined with ctx.Err().
func (p Policy) Do(ctx context.Context, op func(ctx context.Context) error) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p = p.WithDefaults()

	attempt := 1
	deferrals := 0
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}

		delay, keepTrying, err := p.nextDelay(ctx, err, attempt, &deferrals)
		if !keepTrying {
			return err
		}
		if Classify(err) == ClassRetriable {
			attempt++
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt-1, err, delay)
		}
		if sleepErr := p.Clock.Sleep(ctx, delay); sleepErr != nil {
			return errors.Join(err, sleepErr)
		}
	}
}

// nextDelay returns how long to wait before trying again, or false with
// the error to return to the caller.
func (p Policy) nextDelay(ctx context.Context, err error, attempt int, deferrals *int) (time.Duration, bool, error) {
	now := p.Clock.Now()

	switch Classify(err) {
	case ClassPermanent:
		return 0, false, err

	case ClassDeferred:
		var deferred *DeferredError
		errors.As(err, &deferred)
		wait := max(deferred.Until.Sub(now), 0)
		if wait > p.MaxDeferWait || *deferrals >= p.MaxDeferrals || !fitsDeadline(ctx, wait) {
			return 0, false, err
		}
		*deferrals++
		return wait, true, err

	default:
		if attempt >= p.MaxAttempts {
			return 0, false, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		delay := p.Backoff(attempt)
		var hint *delayHintError
		if errors.As(err, &hint) {
			if hint.delay > p.MaxDeferWait {
				return 0, false, err
			}
			delay = max(delay, hint.delay)
		}
		if !fitsDeadline(ctx, delay) {
			return 0, false, err
		}
		return delay, true, err
	}
}

// fitsDeadline reports whether a wait of d ends before ctx's deadline, so
// Do does not sleep only to be cancelled.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	// The deadline is on the wall clock, so compare the remaining wall time.
	return time.Until(deadline) > d
}
