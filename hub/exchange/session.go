package exchange

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// session is one exchange conversation, from checkauth to complete.
type session struct {
	// token is the secret that 1C returns as the cookie value or the
	// sessid query parameter. It is never logged.
	token string
	// id is the public name of the session, used in logs, in the
	// directory name, in operator messages and by the Importer.
	id  string
	dir string

	mu       sync.Mutex
	lastSeen time.Time
	archives map[string]bool // uploaded zip archives, true once unpacked
	unzipped int64           // bytes unpacked from archives since init
	unpack   *job            // the running archive unpacking, or one whose result 1C has not received
	imports  map[string]*job // import jobs whose result 1C has not yet received
	imported map[string]bool // names of files imported successfully
}

// busyError reports that a session still runs a background job.
type busyError struct{ name string }

func (e *busyError) Error() string { return "background job still runs for " + e.name }

func (h *Handler) newSession() *session {
	id := newID(6)
	return &session{
		token:    newID(16),
		id:       id,
		dir:      h.sessionDir(id),
		lastSeen: h.cfg.Clock(),
		archives: make(map[string]bool),
		imports:  make(map[string]*job),
		imported: make(map[string]bool),
	}
}

// checkauth responds like catalog.import.1c: success, the cookie name, the
// cookie value, "sessid=<value>" and "timestamp=<unix seconds>".
func (h *Handler) checkauth(c *fiber.Ctx) error {
	user, ok := h.basicAuth(c)
	if !ok {
		if h.logins.blocked(c.IP(), h.cfg.Clock()) {
			h.log.Warn("checkauth rejected: too many failed logins", "remote", c.IP())
			return fail(c, tooManyRu)
		}
		h.log.Warn("checkauth rejected: invalid credentials", "user", user, "remote", c.IP())
		return fail(c, "Неверное имя пользователя или пароль для обмена с сайтом. Проверьте их в настройках узла обмена в 1С.")
	}

	h.expireSessions()
	s := h.newSession()
	h.mu.Lock()
	h.sessions[s.token] = s
	h.latest = s
	h.mu.Unlock()

	c.Cookie(&fiber.Cookie{
		Name:     h.cfg.CookieName,
		Value:    s.token,
		Path:     "/",
		HTTPOnly: true,
	})
	h.log.Info("exchange session started", "session", s.id, "remote", c.IP())
	return respond(c,
		"success",
		h.cfg.CookieName,
		s.token,
		"sessid="+s.token,
		fmt.Sprintf("timestamp=%d", h.cfg.Clock().Unix()),
	)
}

// authenticate finds the session of a request after checkauth by its
// cookie, its sessid parameter or, failing both, valid Basic credentials,
// which select the latest session or start one. It returns nil and an
// operator message when none applies.
func (h *Handler) authenticate(c *fiber.Ctx) (*session, string) {
	if h.ctx.Err() != nil {
		return nil, "Сайт останавливается и не принимает обмен. Повторите обмен через несколько минут."
	}
	now := h.cfg.Clock()

	for _, token := range []string{c.Cookies(h.cfg.CookieName), c.Query("sessid")} {
		if s := h.lookup(token, now); s != nil {
			return s, ""
		}
	}

	hasAuth := c.Get(fiber.HeaderAuthorization) != ""
	if user, ok := h.basicAuth(c); ok {
		h.mu.Lock()
		defer h.mu.Unlock()
		s := h.latest
		if s == nil || h.expired(s, now) {
			s = h.newSession()
			h.sessions[s.token] = s
			h.latest = s
			h.log.Info("exchange session started by basic auth", "session", s.id, "user", user)
		}
		s.touch(now)
		return s, ""
	} else if hasAuth {
		h.log.Warn("request rejected: invalid credentials", "user", user, "remote", c.IP())
		return nil, "Неверное имя пользователя или пароль для обмена с сайтом. Проверьте их в настройках узла обмена в 1С."
	}

	h.log.Warn("request rejected: no valid session", "mode", c.Query("mode"), "remote", c.IP())
	return nil, "Сессия обмена не найдена или истекла. Запустите обмен с сайтом заново."
}

// lookup returns the live session with token, or nil.
func (h *Handler) lookup(token string, now time.Time) *session {
	if token == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[token]
	if s == nil || h.expired(s, now) {
		return nil
	}
	s.touch(now)
	return s
}

func (s *session) touch(now time.Time) {
	s.mu.Lock()
	s.lastSeen = now
	s.mu.Unlock()
}

func (h *Handler) expired(s *session, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastSeen) > h.cfg.SessionTTL
}

// basicAuth checks the request's Basic credentials in constant time. It
// returns the user name sent, for logs, and whether the credentials match.
func (h *Handler) basicAuth(c *fiber.Ctx) (string, bool) {
	user, password, ok := parseBasic(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return "", false
	}
	now := h.cfg.Clock()
	if h.logins.blocked(c.IP(), now) {
		return user, false
	}
	if equalSecret(user, h.cfg.Username)&equalSecret(password, h.cfg.Password) != 1 {
		h.logins.fail(c.IP(), now)
		return user, false
	}
	return user, true
}

// equalSecret compares SHA-256 digests so that the time taken does not
// depend on where a and b differ or on their lengths.
func equalSecret(a, b string) int {
	da := sha256.Sum256([]byte(a))
	db := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:])
}

func parseBasic(header string) (user, password string, ok bool) {
	const prefix = "basic "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(decoded), ":")
	return user, password, ok
}

// resetSession empties the session's upload directory and clears its
// records of files, archives and imports. It fails with *busyError while a background
// job of the session runs, because the job reads that directory.
func (h *Handler) resetSession(s *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unpack != nil && !s.unpack.finished() {
		return &busyError{name: s.unpack.name}
	}
	for name, j := range s.imports {
		if !j.finished() {
			return &busyError{name: name}
		}
	}

	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove %s: %w", s.dir, err)
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	s.archives = make(map[string]bool)
	s.unzipped = 0
	s.unpack = nil
	s.imports = make(map[string]*job)
	s.imported = make(map[string]bool)
	return nil
}

// expireSessions drops sessions idle for longer than SessionTTL and
// removes their directories. A session whose job still runs is kept until
// a later call.
func (h *Handler) expireSessions() {
	now := h.cfg.Clock()
	h.mu.Lock()
	var expired []*session
	for token, s := range h.sessions {
		if h.expired(s, now) && !s.busy() {
			delete(h.sessions, token)
			if h.latest == s {
				h.latest = nil
			}
			expired = append(expired, s)
		}
	}
	h.mu.Unlock()

	for _, s := range expired {
		if err := os.RemoveAll(s.dir); err != nil {
			h.log.Error("failed to remove expired session directory", "session", s.id, "dir", s.dir, "error", err)
			continue
		}
		h.log.Info("exchange session expired", "session", s.id)
	}
}

func (s *session) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unpack != nil && !s.unpack.finished() {
		return true
	}
	for _, j := range s.imports {
		if !j.finished() {
			return true
		}
	}
	return false
}

// removeStaleDirs removes "session-*" directories in Dir left by an
// earlier process, which keeps sessions in memory only.
func (h *Handler) removeStaleDirs() {
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		h.log.Error("failed to list upload root", "dir", h.cfg.Dir, "error", err)
		return
	}
	now := h.cfg.Clock()
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "session-") {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) <= h.cfg.SessionTTL {
			continue
		}
		dir := filepath.Join(h.cfg.Dir, e.Name())
		if err := os.RemoveAll(dir); err != nil {
			h.log.Error("failed to remove stale session directory", "dir", dir, "error", err)
			continue
		}
		h.log.Info("stale session directory removed", "dir", dir)
	}
}
