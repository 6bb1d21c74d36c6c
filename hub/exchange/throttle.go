package exchange

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed logins: each client address may fail loginBurst times at once and
// then once per loginEvery; past that, every login from it is refused,
// right or wrong, until its budget refills. This slows password guessing
// without locking out 1C, which retries an exchange every few minutes.
const (
	loginBurst = 10
	loginEvery = 6 * time.Second // 10 failures a minute
	// maxTracked caps the addresses remembered; past it the table starts
	// over, which at worst lets a guesser try loginBurst more times.
	maxTracked = 10000
)

// loginThrottle counts failed logins per client address.
type loginThrottle struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// blocked reports whether addr has used up its failed logins at now.
func (t *loginThrottle) blocked(addr string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.clients[addr]
	return l != nil && l.TokensAt(now) < 1
}

// fail records a failed login from addr at now.
func (t *loginThrottle) fail(addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clients == nil || len(t.clients) >= maxTracked {
		t.clients = make(map[string]*rate.Limiter)
	}
	l := t.clients[addr]
	if l == nil {
		l = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		t.clients[addr] = l
	}
	l.AllowN(now, 1)
}

// tooManyRu is the message for a blocked client.
const tooManyRu = "Слишком много неверных попыток входа с этого адреса. Подождите минуту и проверьте имя пользователя и пароль в настройках узла обмена в 1С."
