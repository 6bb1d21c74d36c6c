package exchange

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/model"
)

// job is an import or an archive unpacking that runs in the background,
// so that a request can respond "progress" while it runs.
type job struct {
	name    string
	started time.Time
	done    chan struct{} // closed when err is set
	err     error
}

func newJob(name string) *job {
	return &job{name: name, started: time.Now(), done: make(chan struct{})}
}

func (j *job) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// await waits up to ProgressAfter for j and reports whether it finished.
func (h *Handler) await(j *job) bool {
	timer := time.NewTimer(h.cfg.ProgressAfter)
	defer timer.Stop()
	select {
	case <-j.done:
		return true
	case <-timer.C:
		return false
	}
}

// importFile runs mode=import. It first unpacks the archives uploaded in
// the session, then imports the named file in the background. A request
// that finds the job still running after ProgressAfter responds "progress",
// and 1C repeats the same request to get the job's state.
func (h *Handler) importFile(c *fiber.Ctx, s *session, log *slog.Logger) error {
	name, inErr := cleanName(c.Query("filename"))
	if inErr != nil {
		log.Warn("import rejected: invalid filename", "error", inErr)
		return fail(c, inErr.Ru)
	}
	log = log.With("file", name)

	if j := h.startUnpack(s, log); j != nil {
		if !h.await(j) {
			log.Debug("archive unpacking still runs", "archive", j.name)
			return respond(c, "progress", fmt.Sprintf("Распаковка архива %s продолжается", j.name))
		}
		s.mu.Lock()
		if s.unpack == j {
			s.unpack = nil
		}
		s.mu.Unlock()
		if j.err != nil {
			return fail(c, h.failureRu(s, j.err, "распаковать архив "+j.name))
		}
	}

	j, started, ru := h.startImport(s, name, log)
	if j == nil {
		if ru != "" {
			return fail(c, ru)
		}
		log.Info("import skipped: file already imported in this session")
		return respond(c, "success")
	}
	if !started {
		log.Debug("repeated request joins the running import")
	}
	if !h.await(j) {
		log.Info("import still running, responding progress", "elapsed", time.Since(j.started).Round(time.Millisecond))
		return respond(c, "progress", fmt.Sprintf("Загрузка %s продолжается", name))
	}

	// 1C has now received the result. A failed import may be retried by
	// the next request; a successful one is remembered in s.imported.
	s.mu.Lock()
	if s.imports[name] == j {
		delete(s.imports, name)
	}
	s.mu.Unlock()
	if j.err != nil {
		return fail(c, h.failureRu(s, j.err, "загрузить файл "+name))
	}
	return respond(c, "success")
}

// startImport returns the import job of name, starting it if none runs.
// It returns a nil job when the file was imported already in this session
// (ru empty) or cannot be imported (ru set).
func (h *Handler) startImport(s *session, name string, log *slog.Logger) (j *job, started bool, ru string) {
	s.mu.Lock()
	if s.imported[name] {
		s.mu.Unlock()
		return nil, false, ""
	}
	if j := s.imports[name]; j != nil {
		s.mu.Unlock()
		return j, false, ""
	}

	file := filepath.Join(s.dir, filepath.FromSlash(name))
	info, err := os.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.mu.Unlock()
		log.Warn("import rejected: file was not uploaded")
		return nil, false, fmt.Sprintf("Файл %s не был передан на сайт в этом сеансе обмена. Повторите обмен.", name)
	case err != nil:
		s.mu.Unlock()
		log.Error("import failed: stat of uploaded file failed", "error", err)
		return nil, false, internalRu(s, "прочитать файл "+name)
	case !info.Mode().IsRegular():
		s.mu.Unlock()
		log.Warn("import rejected: not a regular file", "mode", info.Mode())
		return nil, false, fmt.Sprintf("%s — не файл, а каталог или ссылка. Укажите в 1С файл выгрузки.", name)
	}

	j = newJob(name)
	s.imports[name] = j
	s.mu.Unlock()

	h.jobStarted()
	log.Info("import started", "bytes", info.Size())
	go h.runImport(s, j, file, log)
	return j, true, ""
}

func (h *Handler) runImport(s *session, j *job, file string, log *slog.Logger) {
	defer h.jobDone()
	defer close(j.done)
	defer func() {
		if r := recover(); r != nil {
			j.err = fmt.Errorf("importer panicked: %v", r)
			log.Error("import failed", "error", j.err)
		}
	}()

	err := h.imp.Import(h.ctx, s.id, file, j.name)
	elapsed := time.Since(j.started).Round(time.Millisecond)
	var inputErr *model.InputError
	switch {
	case err == nil:
		s.mu.Lock()
		s.imported[j.name] = true
		s.mu.Unlock()
		log.Info("import finished", "elapsed", elapsed)
	case errors.As(err, &inputErr):
		log.Warn("import rejected: invalid input", "error", err, "elapsed", elapsed)
	default:
		log.Error("import failed", "error", err, "elapsed", elapsed)
	}
	j.err = err
}

// startUnpack returns the session's running or finished-but-unreported
// unpacking, or starts one for the archives not yet unpacked. It returns
// nil when there is nothing to unpack.
func (h *Handler) startUnpack(s *session, log *slog.Logger) *job {
	s.mu.Lock()
	if s.unpack != nil {
		j := s.unpack
		s.mu.Unlock()
		return j
	}
	var pending []string
	for name, done := range s.archives {
		if !done {
			pending = append(pending, name)
		}
	}
	if len(pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	slices.Sort(pending)
	for _, name := range pending {
		// Marked before the attempt, so that a bad archive is not retried.
		s.archives[name] = true
	}
	j := newJob(strings.Join(pending, ", "))
	s.unpack = j
	budget := h.cfg.MaxUnzipped - s.unzipped
	s.mu.Unlock()

	h.jobStarted()
	go h.runUnpack(s, j, pending, budget, log)
	return j
}

func (h *Handler) runUnpack(s *session, j *job, archives []string, budget int64, log *slog.Logger) {
	defer h.jobDone()
	defer close(j.done)

	for _, name := range archives {
		start := time.Now()
		n, err := unpackArchive(s.dir, name, unzipLimits{
			budget:     budget,
			maxEntries: h.cfg.MaxEntries,
			maxRatio:   int64(h.cfg.MaxRatio),
		})
		if err != nil {
			var inputErr *model.InputError
			if errors.As(err, &inputErr) {
				log.Warn("archive rejected", "archive", name, "error", err)
			} else {
				log.Error("archive unpacking failed", "archive", name, "error", err)
			}
			j.err = fmt.Errorf("unpack %s: %w", name, err)
			return
		}
		budget -= n
		s.mu.Lock()
		s.unzipped += n
		s.mu.Unlock()
		log.Info("archive unpacked", "archive", name, "bytes", n, "elapsed", time.Since(start).Round(time.Millisecond))
	}
}

// failureRu returns the operator message for a failed job: the Ru of an
// input error, or a generic message naming the session for other errors,
// whose cause is logged.
func (h *Handler) failureRu(s *session, err error, action string) string {
	var inputErr *model.InputError
	if errors.As(err, &inputErr) && inputErr.Ru != "" {
		return inputErr.Ru
	}
	return internalRu(s, action)
}
