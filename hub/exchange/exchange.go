// Package exchange receives catalog uploads from 1C:Enterprise over its HTTP
// exchange protocol ("Обмен с сайтами", type=catalog and type=sale).
//
// 1C drives the conversation with GET and POST requests to one URL and reads
// a plain-text response whose first line is success, progress or failure:
//
//	mode=checkauth            Basic auth; returns a session cookie and sessid
//	mode=init                 returns zip=yes|no and file_limit=<bytes>
//	mode=file&filename=NAME   raw POST body; repeated POSTs append
//	mode=import&filename=NAME imports one file; "progress" makes 1C repeat
//	mode=deactivate, complete protocol 3.x end of exchange
//
// The responses follow the 1C-Bitrix component catalog.import.1c, the
// server side that 1C's site exchange was built for.
package exchange

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// Importer applies one uploaded CommerceML file to the ledger.
type Importer interface {
	// Import parses the uploaded file at path (1C's name: name) and applies
	// it to the ledger atomically: on error nothing of that file is stored.
	// A *model.InputError means bad input, and its Ru is shown to 1C.
	// session is the exchange session's id, the one in the handler's logs.
	Import(ctx context.Context, session, path, name string) error
}

// Handler serves the type=catalog side of 1C's exchange protocol.
type Handler struct {
	cfg Config
	imp Importer
	log *slog.Logger

	// ctx is the parent of every background job and is cancelled by Close.
	ctx    context.Context
	cancel context.CancelFunc

	logins loginThrottle

	mu       sync.Mutex
	sessions map[string]*session // by token
	latest   *session            // the session used by Basic auth alone
	running  int                 // background jobs not yet finished
	idle     chan struct{}       // closed when running drops to zero
}

// URL paths that Register mounts. 1C fills in the second one by default.
const (
	PathExchange = "/1c/exchange"
	PathBitrix   = "/bitrix/admin/1c_exchange.php"
)

// New checks cfg, fills its defaults and creates the upload root. It
// removes session directories that a previous process left in cfg.Dir and
// that have not changed for cfg.SessionTTL.
func New(cfg Config, imp Importer, log *slog.Logger) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if imp == nil {
		return nil, errors.New("exchange: Importer is nil")
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("exchange: create upload root: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{
		cfg:      cfg,
		imp:      imp,
		log:      log.With("component", "exchange"),
		ctx:      ctx,
		cancel:   cancel,
		sessions: make(map[string]*session),
	}
	h.removeStaleDirs()
	return h, nil
}

// Register mounts the handler for GET and POST on PathExchange and
// PathBitrix.
func (h *Handler) Register(r fiber.Router) {
	if app, ok := r.(*fiber.App); ok {
		if limit := app.Config().BodyLimit; int64(limit) < h.cfg.FileLimit {
			h.log.Warn("fiber BodyLimit is below file_limit, so larger 1C chunks get HTTP 413",
				"body_limit", limit, "file_limit", h.cfg.FileLimit)
		}
	}
	for _, p := range []string{PathExchange, PathBitrix} {
		r.Get(p, h.serve)
		r.Post(p, h.serve)
		// Any other method still gets an answer in the protocol's form.
		r.All(p, func(c *fiber.Ctx) error {
			return fail(c, "Метод "+c.Method()+" не поддерживается обменом; 1С использует GET и POST.")
		})
	}
}

// Wait blocks until no import or unpack runs in the background, or until
// ctx ends.
func (h *Handler) Wait(ctx context.Context) error {
	h.mu.Lock()
	if h.running == 0 {
		h.mu.Unlock()
		return nil
	}
	idle := h.idle
	h.mu.Unlock()

	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close cancels the context of running imports and waits for them, or
// until ctx ends. After Close every request gets a failure response.
func (h *Handler) Close(ctx context.Context) error {
	h.cancel()
	return h.Wait(ctx)
}

func (h *Handler) serve(c *fiber.Ctx) error {
	// Fiber's strings point into a buffer that the next request reuses,
	// so every string kept after the handler returns is cloned.
	kind := strings.Clone(c.Query("type"))
	mode := strings.Clone(c.Query("mode"))
	if kind == "sale" {
		return h.serveSale(c, mode)
	}
	if kind != "catalog" {
		h.log.Warn("request rejected: unsupported exchange type", "type", kind, "mode", mode)
		return fail(c, fmt.Sprintf("Тип обмена %q не поддерживается: сайт принимает выгрузку каталога (type=catalog) и обмен заказами (type=sale).", kind))
	}

	if mode == "checkauth" {
		return h.checkauth(c)
	}

	s, ru := h.authenticate(c)
	if s == nil {
		return fail(c, ru)
	}
	log := h.log.With("session", s.id, "mode", mode)

	switch mode {
	case "init":
		return h.init(c, s, log)
	case "file":
		return h.file(c, s, log)
	case "import":
		return h.importFile(c, s, log)
	case "deactivate", "complete":
		log.Info("exchange step accepted")
		return respond(c, "success")
	default:
		log.Warn("request rejected: unknown mode")
		return fail(c, fmt.Sprintf("Неизвестная команда обмена mode=%q. Проверьте версию модуля обмена в 1С.", mode))
	}
}

func (h *Handler) init(c *fiber.Ctx, s *session, log *slog.Logger) error {
	if err := h.resetSession(s); err != nil {
		var busy *busyError
		if errors.As(err, &busy) {
			log.Warn("init rejected: an import still runs", "file", busy.name)
			return fail(c, fmt.Sprintf("Загрузка файла %s ещё выполняется. Повторите обмен через несколько минут.", busy.name))
		}
		log.Error("init failed: cannot prepare session directory", "error", err)
		return fail(c, internalRu(s, "подготовить каталог загрузки"))
	}

	zip := "no"
	if h.cfg.Zip {
		zip = "yes"
	}
	lines := []string{"zip=" + zip, fmt.Sprintf("file_limit=%d", h.cfg.FileLimit)}

	// 1C sends version= when it speaks protocol 3.x; the 1C-Bitrix
	// component sale.export.1c then adds the sessid and version lines.
	version := c.Query("version")
	if version != "" {
		if h.cfg.SchemaVersion != "" {
			version = h.cfg.SchemaVersion
		}
		lines = append(lines, "sessid="+s.token, "version="+version)
	}
	log.Info("exchange session initialised", "zip", h.cfg.Zip, "file_limit", h.cfg.FileLimit, "version", version)
	return respond(c, lines...)
}

// respond writes lines separated by "\n". The first line must be success,
// progress or failure, except for init, whose response 1C parses as
// key=value lines.
func respond(c *fiber.Ctx, lines ...string) error {
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusOK).SendString(strings.Join(lines, "\n"))
}

// fail responds "failure" with ru, a message for the 1C operator, on line 2.
// The status stays 200, as in catalog.import.1c, so that 1C shows the text.
func fail(c *fiber.Ctx, ru string) error {
	return respond(c, "failure", ru)
}

// internalRu is the operator message for an error that is not the
// operator's to fix. It names the session so that an administrator can
// find the logged cause.
func internalRu(s *session, action string) string {
	return fmt.Sprintf("Сайту не удалось %s из-за внутренней ошибки. Сообщите администратору сайта номер сессии обмена %s.", action, s.id)
}

// newID returns n random bytes in hex.
func newID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// Since Go 1.24 crypto/rand.Read crashes the program instead of
		// returning an error, so this is not reached.
		panic(err)
	}
	return hex.EncodeToString(b)
}

// sessionDir returns the upload directory of the session with id.
func (h *Handler) sessionDir(id string) string {
	return filepath.Join(h.cfg.Dir, "session-"+id)
}

// jobStarted and jobDone count background jobs for Wait.
func (h *Handler) jobStarted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running == 0 {
		h.idle = make(chan struct{})
	}
	h.running++
}

func (h *Handler) jobDone() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running--
	if h.running == 0 {
		close(h.idle)
	}
}
