package exchange

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/model"
)

const (
	maxNameLen      = 1024
	maxComponentLen = 255
)

// zipMagic starts every zip archive that is not empty.
var zipMagic = []byte("PK\x03\x04")

// cleanName maps 1C's filename parameter to a slash-separated path inside
// the session directory. Backslashes count as separators, and a leading
// "/" or Windows drive letter is dropped, so "/etc/x" becomes "etc/x".
// Subdirectories stay, because the XML refers to images by paths such as
// "import_files/ab/abcd.jpg". A name with a ".." component is rejected.
func cleanName(raw string) (string, *model.InputError) {
	raw = strings.Clone(raw) // see serve: it may outlive the request
	reject := func(cause, ru string) (string, *model.InputError) {
		return "", &model.InputError{File: raw, Err: errors.New(cause), Ru: ru}
	}

	if raw == "" {
		return reject("filename parameter is missing", "1С не передала имя файла (параметр filename). Проверьте версию модуля обмена в 1С.")
	}
	if len(raw) > maxNameLen {
		return reject("filename is too long", fmt.Sprintf("Имя файла длиннее %d байт, сайт его не принимает. Сократите имя файла в 1С.", maxNameLen))
	}
	if strings.IndexFunc(raw, unicode.IsControl) >= 0 {
		return reject("filename contains a control character", "Имя файла содержит управляющие символы, сайт его не принимает.")
	}

	name := strings.ReplaceAll(raw, `\`, "/")
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		name = name[2:]
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return reject("filename escapes the upload directory", fmt.Sprintf("Имя файла %q содержит переход в родительский каталог (..), сайт его отклонил.", raw))
		}
		if len(part) > maxComponentLen {
			return reject("filename component is too long", fmt.Sprintf("Часть имени файла %q длиннее %d байт, сайт его не принимает.", raw, maxComponentLen))
		}
	}

	name = path.Clean(strings.TrimLeft(name, "/"))
	if name == "." || name == "" || !filepath.IsLocal(filepath.FromSlash(name)) {
		return reject("filename names no file", fmt.Sprintf("Имя файла %q не указывает на файл, сайт его не принимает.", raw))
	}
	return name, nil
}

func isASCIILetter(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// file appends the request body to the named file of the session. 1C
// splits a file larger than file_limit into several such requests.
func (h *Handler) file(c *fiber.Ctx, s *session, log *slog.Logger) error {
	name, inErr := cleanName(c.Query("filename"))
	if inErr != nil {
		log.Warn("upload rejected: invalid filename", "error", inErr)
		return fail(c, inErr.Ru)
	}
	log = log.With("file", name)

	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		log.Warn("upload rejected: compressed request body", "content_encoding", enc)
		return fail(c, fmt.Sprintf("Сайт не принимает сжатое тело запроса (Content-Encoding: %s). Включите обмен архивом zip в 1С вместо сжатия.", enc))
	}

	var body io.Reader
	if c.Context().IsBodyStream() {
		body = c.Context().RequestBodyStream()
	} else {
		body = bytes.NewReader(c.Request().Body())
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	if j := s.imports[name]; j != nil && !j.finished() {
		log.Warn("upload rejected: the file is being imported")
		return fail(c, fmt.Sprintf("Файл %s сейчас загружается в учёт. Дождитесь окончания и повторите обмен.", name))
	}
	// A file already imported or unpacked can get new chunks only as a new
	// upload, so it starts over instead of growing.
	restart := s.imported[name] || s.archives[name]
	delete(s.imported, name)
	delete(s.imports, name)

	size, err := h.appendChunk(s, name, body, restart)
	if err != nil {
		var tooLarge *tooLargeError
		if errors.As(err, &tooLarge) {
			log.Warn("upload rejected and partial file removed: file exceeds MaxUpload", "max_upload", h.cfg.MaxUpload)
			return fail(c, fmt.Sprintf("Файл %s больше допустимых %s и не принят. Уменьшите выгрузку или попросите администратора сайта увеличить лимит.", name, sizeRu(h.cfg.MaxUpload)))
		}
		log.Error("upload failed and partial file removed", "error", err)
		return fail(c, internalRu(s, "сохранить файл "+name))
	}

	if size.first && (strings.EqualFold(path.Ext(name), ".zip") || size.zipMagic) {
		s.archives[name] = false
	}
	log.Info("file chunk received", "bytes", size.chunk, "size", size.total)
	return respond(c, "success")
}

// tooLargeError reports an upload that would exceed MaxUpload.
type tooLargeError struct{}

func (*tooLargeError) Error() string { return "file exceeds MaxUpload" }

type chunkResult struct {
	chunk, total int64
	first        bool // the chunk started the file
	zipMagic     bool // the file starts with the zip signature
}

// appendChunk appends body to name in the session directory, or replaces
// the file when restart is set. On any error the file is removed, because
// 1C would otherwise import a file with a chunk missing.
func (h *Handler) appendChunk(s *session, name string, body io.Reader, restart bool) (chunkResult, error) {
	var res chunkResult
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return res, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return res, err
	}
	defer root.Close()

	local := filepath.FromSlash(name)
	if dir := filepath.Dir(local); dir != "." {
		if err := root.MkdirAll(dir, 0o750); err != nil {
			return res, err
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if restart {
		flags |= os.O_TRUNC
	}
	f, err := root.OpenFile(local, flags, 0o640)
	if err != nil {
		return res, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return res, errors.Join(err, root.Remove(local))
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return res, fmt.Errorf("%s is not a regular file", name)
	}
	res.first = info.Size() == 0

	reader := bufio.NewReader(body)
	if res.first {
		head, _ := reader.Peek(len(zipMagic))
		res.zipMagic = bytes.Equal(head, zipMagic)
	}

	remaining := h.cfg.MaxUpload - info.Size()
	n, err := io.Copy(f, io.LimitReader(reader, remaining+1))
	if err == nil && n > remaining {
		err = &tooLargeError{}
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return res, errors.Join(err, root.Remove(local))
	}
	res.chunk = n
	res.total = info.Size() + n
	return res, nil
}

// sizeRu formats a size in bytes for the 1C operator: whole megabytes,
// kilobytes below one megabyte, bytes below one kilobyte.
func sizeRu(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d МБ", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d КБ", n>>10)
	}
	return fmt.Sprintf("%d байт", n)
}
