package exchange

// The type=sale side of 1C's exchange protocol: 1C fetches the site's new
// orders and later posts back their state in 1C.
//
//	mode=checkauth, init      as for type=catalog, but init always returns zip=no
//	mode=query                returns the pending orders as a CommerceML document
//	mode=success              1C has stored them: they are confirmed as exported
//	mode=file&filename=NAME   1C's orders document with status changes
//	mode=import&filename=NAME protocol 3.x only: applies the file sent before
//
// Orders from a query are confirmed only by a later success in the same
// session, so a query that 1C does not confirm returns the same orders the
// next time. The responses follow the 1C-Bitrix component sale.export.1c.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
)

// OrderExporter is the order store that the type=sale side reads and
// updates. Its methods get a context that Close cancels.
type OrderExporter interface {
	// Pending returns the orders that 1C has not yet confirmed.
	Pending(ctx context.Context) ([]commerceml.Order, error)
	// Confirm marks the orders with these Order.ID values as exported, so
	// that Pending no longer returns them.
	Confirm(ctx context.Context, ids []string) error
	// ApplyStatuses stores the order states that 1C sent. A
	// *model.InputError means bad input, and its Ru is shown to 1C.
	ApplyStatuses(ctx context.Context, statuses []commerceml.OrderStatus) error
}

// SaleConfig sets up the type=sale side. With Orders nil the endpoint
// rejects type=sale.
type SaleConfig struct {
	Orders OrderExporter

	// Encoding of the query response: "windows-1251" (the default, which
	// sale.export.1c always sends) or "UTF-8".
	Encoding string
	// SchemaVersion is the ВерсияСхемы of the query response. Default
	// "2.05"; a 3.x version wraps every order into a Контейнер.
	SchemaVersion string
	// Location is the time zone of the dates in the query response. Nil
	// means Europe/Moscow. Dates without a zone in 1C's status document
	// are read as Moscow time regardless of this field.
	Location *time.Location
}

const defaultSaleEncoding = commerceml.EncodingCP1251

// saleStateFile keeps the sale state of a session in its upload
// directory, so that init and session expiry remove it with the uploads.
const saleStateFile = ".obmenhub-sale.json"

// saleState is the per-session record kept between sale requests.
type saleState struct {
	// Protocol3 is set when init got a version parameter: 1C then sends
	// mode=import after mode=file.
	Protocol3 bool `json:"protocol3"`
	// Queried lists the Order.ID values of the last query response that
	// no success has confirmed yet.
	Queried []string `json:"queried,omitempty"`
}

func (h *Handler) serveSale(c *fiber.Ctx, mode string) error {
	if h.cfg.Sale.Orders == nil {
		h.log.Warn("request rejected: order exchange is not configured", "type", "sale", "mode", mode)
		return fail(c, "Обмен заказами (type=sale) на сайте не настроен. Отключите обмен заказами в настройках узла обмена в 1С или обратитесь к администратору сайта.")
	}
	if mode == "checkauth" {
		return h.checkauth(c)
	}

	s, ru := h.authenticate(c)
	if s == nil {
		return fail(c, ru)
	}
	log := h.log.With("session", s.id, "type", "sale", "mode", mode)

	switch mode {
	case "init":
		return h.saleInit(c, s, log)
	case "query":
		return h.saleQuery(c, s, log)
	case "success":
		return h.saleSuccess(c, s, log)
	case "file":
		return h.saleFile(c, s, log)
	case "import":
		return h.saleImport(c, s, log)
	case "deactivate", "complete":
		log.Info("exchange step accepted")
		return respond(c, "success")
	default:
		log.Warn("request rejected: unknown mode")
		return fail(c, fmt.Sprintf("Неизвестная команда обмена заказами mode=%q. Проверьте версию модуля обмена в 1С.", mode))
	}
}

// saleInit runs init for type=sale. It returns zip=no regardless of
// Config.Zip, because the status document is small and this side does not
// unpack archives.
func (h *Handler) saleInit(c *fiber.Ctx, s *session, log *slog.Logger) error {
	if err := h.resetSession(s); err != nil {
		log.Error("init failed: cannot prepare session directory", "error", err)
		return fail(c, internalRu(s, "подготовить каталог загрузки"))
	}

	s.mu.Lock()
	err := h.saveSaleState(s, saleState{Protocol3: c.Query("version") != ""})
	s.mu.Unlock()
	if err != nil {
		log.Error("init failed: cannot store sale state", "error", err)
		return fail(c, internalRu(s, "подготовить обмен заказами"))
	}

	lines := []string{"zip=no", fmt.Sprintf("file_limit=%d", h.cfg.FileLimit)}
	version := c.Query("version")
	if version != "" {
		if h.cfg.SchemaVersion != "" {
			version = h.cfg.SchemaVersion
		}
		lines = append(lines, "sessid="+s.token, "version="+version)
	}
	log.Info("order exchange initialised", "file_limit", h.cfg.FileLimit, "version", version)
	return respond(c, lines...)
}

// saleQuery returns the pending orders and remembers their ids for the
// success that confirms them.
func (h *Handler) saleQuery(c *fiber.Ctx, s *session, log *slog.Logger) error {
	orders, err := h.cfg.Sale.Orders.Pending(h.ctx)
	if err != nil {
		log.Error("query failed: cannot read pending orders", "error", err)
		return fail(c, internalRu(s, "выгрузить заказы"))
	}

	encoding := h.cfg.Sale.Encoding
	if encoding == "" {
		encoding = defaultSaleEncoding
	}
	var body bytes.Buffer
	contentType, err := commerceml.WriteOrders(&body, orders, commerceml.WriteOptions{
		Encoding:      encoding,
		SchemaVersion: h.cfg.Sale.SchemaVersion,
		Location:      h.cfg.Sale.Location,
		Generated:     h.cfg.Clock(),
	})
	if err != nil {
		log.Error("query failed: cannot write orders document", "orders", len(orders), "error", err)
		return fail(c, internalRu(s, "сформировать файл заказов"))
	}

	ids := make([]string, len(orders))
	for i := range orders {
		ids[i] = orders[i].ID
	}
	s.mu.Lock()
	state, err := h.loadSaleState(s)
	if err == nil {
		state.Queried = ids
		err = h.saveSaleState(s, state)
	}
	s.mu.Unlock()
	if err != nil {
		log.Error("query failed: cannot store the ids of the sent orders", "error", err)
		return fail(c, internalRu(s, "выгрузить заказы"))
	}

	log.Info("orders sent to 1C; waiting for success to confirm them", "orders", len(orders), "bytes", body.Len(), "content_type", contentType)
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusOK).Send(body.Bytes())
}

// saleSuccess confirms the orders of the session's last query.
func (h *Handler) saleSuccess(c *fiber.Ctx, s *session, log *slog.Logger) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	state, err := h.loadSaleState(s)
	if err != nil {
		log.Error("success failed: cannot read sale state", "error", err)
		return fail(c, internalRu(s, "отметить заказы выгруженными"))
	}
	if len(state.Queried) == 0 {
		log.Info("success without unconfirmed orders in this session")
		return respond(c, "success")
	}

	if err := h.cfg.Sale.Orders.Confirm(h.ctx, state.Queried); err != nil {
		log.Error("success failed: cannot confirm exported orders", "orders", len(state.Queried), "error", err)
		return fail(c, internalRu(s, "отметить заказы выгруженными"))
	}
	confirmed := len(state.Queried)
	state.Queried = nil
	if err := h.saveSaleState(s, state); err != nil {
		// The orders are confirmed already; a repeated success would only
		// confirm them again.
		log.Error("failed to clear confirmed order ids", "error", err)
	}
	log.Info("orders confirmed as exported", "orders", confirmed)
	return respond(c, "success")
}

// saleFile appends a chunk of 1C's orders document. Under protocol 3.x
// the file waits for mode=import; otherwise it is applied as soon as it is
// a complete XML document, as sale.export.1c does.
func (h *Handler) saleFile(c *fiber.Ctx, s *session, log *slog.Logger) error {
	name, inErr := cleanName(c.Query("filename"))
	if inErr != nil {
		log.Warn("upload rejected: invalid filename", "error", inErr)
		return fail(c, inErr.Ru)
	}
	log = log.With("file", name)
	if name == saleStateFile || name == saleStateFile+".tmp" {
		log.Warn("upload rejected: filename is reserved for the session state")
		return fail(c, fmt.Sprintf("Имя файла %s зарезервировано сайтом. Выгрузите заказы из 1С под другим именем.", name))
	}

	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		log.Warn("upload rejected: compressed request body", "content_encoding", enc)
		return fail(c, fmt.Sprintf("Сайт не принимает сжатое тело запроса (Content-Encoding: %s). Отключите сжатие в настройках узла обмена в 1С.", enc))
	}
	var body io.Reader
	if c.Context().IsBodyStream() {
		body = c.Context().RequestBodyStream()
	} else {
		body = bytes.NewReader(c.Request().Body())
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	size, err := h.appendChunk(s, name, body, false)
	if err != nil {
		var tooLarge *tooLargeError
		if errors.As(err, &tooLarge) {
			log.Warn("upload rejected and partial file removed: file exceeds MaxUpload", "max_upload", h.cfg.MaxUpload)
			return fail(c, fmt.Sprintf("Файл %s больше допустимых %s и не принят.", name, sizeRu(h.cfg.MaxUpload)))
		}
		log.Error("upload failed and partial file removed", "error", err)
		return fail(c, internalRu(s, "сохранить файл "+name))
	}
	log.Info("order file chunk received", "bytes", size.chunk, "size", size.total)

	state, err := h.loadSaleState(s)
	if err != nil {
		log.Error("upload failed: cannot read sale state", "error", err)
		return fail(c, internalRu(s, "принять файл "+name))
	}
	if state.Protocol3 {
		return respond(c, "success")
	}

	applied, ru := h.applyStatusFile(s, name, true, log)
	if ru != "" {
		return fail(c, ru)
	}
	if !applied {
		// NOTE: a file that 1C cut short for good is never applied and 1C
		// gets no failure, because this request cannot distinguish a lost
		// chunk from one still to come.
		log.Info("order file is incomplete; waiting for the next chunk")
	}
	return respond(c, "success")
}

// saleImport applies a file that protocol 3.x uploaded with mode=file.
func (h *Handler) saleImport(c *fiber.Ctx, s *session, log *slog.Logger) error {
	name, inErr := cleanName(c.Query("filename"))
	if inErr != nil {
		log.Warn("import rejected: invalid filename", "error", inErr)
		return fail(c, inErr.Ru)
	}
	log = log.With("file", name)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ru := h.applyStatusFile(s, name, false, log); ru != "" {
		return fail(c, ru)
	}
	return respond(c, "success")
}

// applyStatusFile parses the uploaded file and passes its statuses to
// ApplyStatuses. With waitForMore a truncated file returns applied=false
// and no error, since more chunks may follow. A non-empty ru is the
// operator message of a failure. A rejected or applied file is removed, so
// a new upload of the same name starts over. The caller holds s.mu.
func (h *Handler) applyStatusFile(s *session, name string, waitForMore bool, log *slog.Logger) (applied bool, ru string) {
	path := filepath.Join(s.dir, filepath.FromSlash(name))
	f, err := openInSession(s, name)
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("import rejected: file was not uploaded")
		return false, fmt.Sprintf("Файл %s не был загружен на сайт в этом сеансе обмена. Повторите обмен заказами.", name)
	}
	if err != nil {
		log.Error("import failed: cannot open uploaded file", "error", err)
		return false, internalRu(s, "прочитать файл "+name)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if !startsLikeXML(head[:n]) {
		// No later chunk can turn this into XML: say so now, not never.
		f.Close()
		h.removeUpload(path, log)
		log.Warn("order file rejected: not XML")
		return false, fmt.Sprintf("Файл %s не является XML-документом обмена заказами. Выгрузите его из 1С заново.", name)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		log.Error("import failed: cannot read uploaded file", "error", err)
		return false, internalRu(s, "прочитать файл "+name)
	}
	statuses, err := commerceml.ParseOrderStatuses(f, name)
	f.Close()

	if err != nil {
		if waitForMore && errors.Is(err, commerceml.ErrTruncated) {
			return false, ""
		}
		h.removeUpload(path, log)
		var inputErr *model.InputError
		if errors.As(err, &inputErr) {
			log.Warn("order file rejected", "error", err)
			return false, inputErr.Ru
		}
		log.Error("order file failed", "error", err)
		return false, internalRu(s, "прочитать файл "+name)
	}

	if err := h.cfg.Sale.Orders.ApplyStatuses(h.ctx, statuses); err != nil {
		h.removeUpload(path, log)
		log.Error("failed to apply order statuses", "orders", len(statuses), "error", err)
		return false, h.failureRu(s, err, "применить статусы заказов из файла "+name)
	}
	h.removeUpload(path, log)
	log.Info("order statuses applied", "orders", len(statuses))
	return true, ""
}

// openInSession opens the uploaded file name through an os.Root, so that a
// symbolic link cannot lead outside the session directory.
func openInSession(s *session, name string) (*os.File, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(filepath.FromSlash(name))
}

func (h *Handler) removeUpload(path string, log *slog.Logger) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("failed to remove processed upload", "path", path, "error", err)
	}
}

// loadSaleState reads the session's sale state; a session without one
// has the zero state. The caller holds s.mu.
func (h *Handler) loadSaleState(s *session) (saleState, error) {
	var state saleState
	data, err := os.ReadFile(filepath.Join(s.dir, saleStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return state, nil
	}
	if err != nil {
		return state, err
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return state, fmt.Errorf("decode %s: %w", saleStateFile, err)
	}
	return state, nil
}

// saveSaleState replaces the session's sale state. The caller holds s.mu.
func (h *Handler) saveSaleState(s *session, state saleState) error {
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, saleStateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, saleStateFile))
}

// startsLikeXML reports whether head, the start of a file, begins with
// '<' after an optional byte order mark and white space. An empty head
// may still become XML.
func startsLikeXML(head []byte) bool {
	if bytes.HasPrefix(head, []byte("\xff\xfe")) || bytes.HasPrefix(head, []byte("\xfe\xff")) {
		return true // UTF-16, which the parser decodes
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) == 0 || head[0] == '<'
}
