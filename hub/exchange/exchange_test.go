package exchange

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/model"
)

const (
	testUser     = "1c-exchange"
	testPassword = "s3cret-пароль"
)

// importCall is one call the fake importer received, with the file's
// content at the time of the call.
type importCall struct {
	session, path, name string
	content             []byte
}

// fakeImporter records calls. results maps a file name to the error it
// returns; block, when set, holds every call until it is closed.
type fakeImporter struct {
	mu      sync.Mutex
	calls   []importCall
	results map[string]error
	block   chan struct{}
	started chan string
	// strictXML makes Import fail with an InputError on malformed XML.
	strictXML bool
}

func (f *fakeImporter) Import(ctx context.Context, session, path, name string) error {
	content, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.calls = append(f.calls, importCall{session: session, path: path, name: name, content: content})
	block, started := f.block, f.started
	result := f.results[name]
	f.mu.Unlock()

	if started != nil {
		started <- name
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.strictXML {
		if err := checkXML(content); err != nil {
			return &model.InputError{File: name, Err: err,
				Ru: fmt.Sprintf("Файл %s не является корректным XML: %v. Повторите выгрузку.", name, err)}
		}
	}
	return result
}

func checkXML(content []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(content))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (f *fakeImporter) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, c := range f.calls {
		names = append(names, c.name)
	}
	return names
}

func (f *fakeImporter) callList() []importCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]importCall(nil), f.calls...)
}

// testClock is a settable Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	t     *testing.T
	h     *Handler
	app   *fiber.App
	imp   *fakeImporter
	clock *testClock
	dir   string
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the handler's background logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestEnv(t *testing.T, imp *fakeImporter, configure func(*Config)) *testEnv {
	t.Helper()
	clock := &testClock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	dir := filepath.Join(t.TempDir(), "exchange")
	cfg := Config{
		Username:      testUser,
		Password:      testPassword,
		Dir:           dir,
		FileLimit:     1 << 20,
		ProgressAfter: 5 * time.Second,
		Clock:         clock.Now,
	}
	if configure != nil {
		configure(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := New(cfg, imp, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	app := fiber.New(fiber.Config{BodyLimit: 8 << 20, DisableStartupMessage: true})
	h.Register(app)
	return &testEnv{t: t, h: h, app: app, imp: imp, clock: clock, dir: dir, logs: logs}
}

// client is one 1C exchange node: it keeps the cookie from checkauth.
type client struct {
	env    *testEnv
	cookie string // "name=value"
	path   string
	auth   string
}

func (e *testEnv) client() *client {
	return &client{env: e, path: PathBitrix, auth: basic(testUser, testPassword)}
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

type response struct {
	status int
	header http.Header
	lines  []string
}

func (c *client) do(method string, query url.Values, body []byte) response {
	c.env.t.Helper()
	req := httptest.NewRequest(method, c.path+"?"+query.Encode(), bytes.NewReader(body))
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.env.app.Test(req, -1)
	if err != nil {
		c.env.t.Fatalf("%s %v: %v", method, query, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.env.t.Fatalf("read body: %v", err)
	}
	if len(raw) == 0 {
		c.env.t.Fatalf("%s %v: empty body", method, query)
	}
	return response{status: resp.StatusCode, header: resp.Header, lines: strings.Split(string(raw), "\n")}
}

func q(mode string, kv ...string) url.Values {
	v := url.Values{"type": {"catalog"}, "mode": {mode}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// login runs checkauth and init, keeping the cookie for later requests.
func (c *client) login() response {
	c.env.t.Helper()
	r := c.do("GET", q("checkauth"), nil)
	if r.lines[0] != "success" {
		c.env.t.Fatalf("checkauth: %q", r.lines)
	}
	c.cookie = r.lines[1] + "=" + r.lines[2]
	init := c.do("GET", q("init"), nil)
	if !strings.HasPrefix(init.lines[0], "zip=") {
		c.env.t.Fatalf("init: %q", init.lines)
	}
	return r
}

func (c *client) upload(name string, chunks ...[]byte) {
	c.env.t.Helper()
	for i, chunk := range chunks {
		r := c.do("POST", q("file", "filename", name), chunk)
		if r.lines[0] != "success" {
			c.env.t.Fatalf("upload %s chunk %d: %q", name, i, r.lines)
		}
	}
}

func hasCyrillic(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) >= 0
}

// assertFailure checks the failure response: "failure" on line 1 and a
// Russian message on line 2.
func assertFailure(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Errorf("status = %d, want 200", r.status)
	}
	if r.lines[0] != "failure" {
		t.Fatalf("line 1 = %q, want failure; answer %q", r.lines[0], r.lines)
	}
	if len(r.lines) < 2 || !hasCyrillic(r.lines[1]) {
		t.Errorf("line 2 is not a Russian message: %q", r.lines)
	}
}

const importXML = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.10"><Каталог><Товары><Товар><Ид>1</Ид><Наименование>Чай</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>`

const offersXML = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.10"><ПакетПредложений><Предложения/></ПакетПредложений></КоммерческаяИнформация>`

func TestConversationChunkedUpload(t *testing.T) {
	imp := &fakeImporter{}
	env := newTestEnv(t, imp, nil)
	c := env.client()

	auth := c.do("GET", q("checkauth"), nil)
	if len(auth.lines) != 5 {
		t.Fatalf("checkauth lines = %q, want 5", auth.lines)
	}
	if auth.lines[0] != "success" {
		t.Errorf("checkauth line 1 = %q", auth.lines[0])
	}
	if auth.lines[1] != defaultCookieName {
		t.Errorf("cookie name = %q, want %q", auth.lines[1], defaultCookieName)
	}
	if auth.lines[3] != "sessid="+auth.lines[2] {
		t.Errorf("sessid line = %q, want sessid=<cookie value>", auth.lines[3])
	}
	if want := fmt.Sprintf("timestamp=%d", env.clock.Now().Unix()); auth.lines[4] != want {
		t.Errorf("timestamp line = %q, want %q", auth.lines[4], want)
	}
	if got := auth.header.Get("Set-Cookie"); !strings.Contains(got, defaultCookieName+"="+auth.lines[2]) {
		t.Errorf("Set-Cookie = %q", got)
	}
	if got := auth.header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	c.cookie = auth.lines[1] + "=" + auth.lines[2]

	init := c.do("GET", q("init"), nil)
	if want := []string{"zip=no", "file_limit=1048576"}; strings.Join(init.lines, "|") != strings.Join(want, "|") {
		t.Errorf("init = %q, want %q", init.lines, want)
	}

	content := []byte(importXML)
	third := len(content) / 3
	c.upload("import.xml", content[:third], content[third:2*third], content[2*third:])

	r := c.do("GET", q("import", "filename", "import.xml"), nil)
	if strings.Join(r.lines, "|") != "success" {
		t.Fatalf("import = %q, want success", r.lines)
	}
	calls := imp.callList()
	if len(calls) != 1 {
		t.Fatalf("importer calls = %d, want 1", len(calls))
	}
	if calls[0].name != "import.xml" {
		t.Errorf("name = %q", calls[0].name)
	}
	if !bytes.Equal(calls[0].content, content) {
		t.Errorf("imported content differs from the three chunks joined")
	}
	if !strings.HasPrefix(calls[0].path, env.dir+string(filepath.Separator)) {
		t.Errorf("path %q is outside %q", calls[0].path, env.dir)
	}

	again := c.do("GET", q("import", "filename", "import.xml"), nil)
	if again.lines[0] != "success" {
		t.Errorf("repeated import = %q, want success", again.lines)
	}
	if n := len(imp.callList()); n != 1 {
		t.Errorf("importer calls after repeat = %d, want 1", n)
	}

	for _, mode := range []string{"deactivate", "complete"} {
		if r := c.do("GET", q(mode), nil); r.lines[0] != "success" {
			t.Errorf("%s = %q, want success", mode, r.lines)
		}
	}

	logs := env.logs.String()
	if !strings.Contains(logs, "session="+calls[0].session) {
		t.Errorf("logs do not name the session %s", calls[0].session)
	}
	if strings.Contains(logs, testPassword) {
		t.Error("logs contain the password")
	}
	if strings.Contains(logs, auth.lines[2]) {
		t.Error("logs contain the session token")
	}
}

func TestReuploadAfterImportStartsOver(t *testing.T) {
	imp := &fakeImporter{}
	env := newTestEnv(t, imp, nil)
	c := env.client()
	c.login()

	c.upload("offers.xml", []byte(importXML))
	if r := c.do("GET", q("import", "filename", "offers.xml"), nil); r.lines[0] != "success" {
		t.Fatalf("first import = %q", r.lines)
	}
	c.upload("offers.xml", []byte(offersXML))
	if r := c.do("GET", q("import", "filename", "offers.xml"), nil); r.lines[0] != "success" {
		t.Fatalf("second import = %q", r.lines)
	}

	calls := imp.callList()
	if len(calls) != 2 {
		t.Fatalf("importer calls = %d, want 2", len(calls))
	}
	if string(calls[1].content) != offersXML {
		t.Errorf("second import read %q, want only the new upload", calls[1].content)
	}
}

func TestInitProtocol3Lines(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, nil)
	c := env.client()
	auth := c.do("GET", q("checkauth"), nil)
	c.cookie = auth.lines[1] + "=" + auth.lines[2]

	r := c.do("GET", q("init", "version", "3.1"), nil)
	want := []string{"zip=no", "file_limit=1048576", "sessid=" + auth.lines[2], "version=3.1"}
	if strings.Join(r.lines, "|") != strings.Join(want, "|") {
		t.Errorf("init = %q, want %q", r.lines, want)
	}
}

func TestSessionBySessidAndBasic(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, nil)
	c := env.client()
	auth := c.do("GET", q("checkauth"), nil)
	token := auth.lines[2]

	tests := []struct {
		name  string
		query url.Values
		auth  string
		want  string
	}{
		{"sessid only", q("init", "sessid", token), "", "zip=no"},
		{"basic only", q("init"), basic(testUser, testPassword), "zip=no"},
		{"wrong basic", q("init"), basic(testUser, "wrong"), "failure"},
		{"nothing", q("init"), "", "failure"},
		{"unknown sessid", q("init", "sessid", "0123"), "", "failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{env: env, path: PathExchange, auth: tt.auth}
			r := c.do("GET", tt.query, nil)
			if r.lines[0] != tt.want {
				t.Errorf("line 1 = %q, want %q; answer %q", r.lines[0], tt.want, r.lines)
			}
			if tt.want == "failure" {
				assertFailure(t, r)
			}
		})
	}
}

func TestSessionExpires(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, func(c *Config) { c.SessionTTL = time.Hour })
	c := env.client()
	c.login()
	c.auth = ""

	env.clock.Add(59 * time.Minute)
	if r := c.do("GET", q("init"), nil); r.lines[0] != "zip=no" {
		t.Fatalf("init before expiry = %q", r.lines)
	}
	env.clock.Add(61 * time.Minute)
	assertFailure(t, c.do("GET", q("init"), nil))
}

// buildZip returns a zip archive of files, in the order given.
func buildZip(t *testing.T, files ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		hdr := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.mode != 0 {
			hdr.SetMode(f.mode)
		}
		if f.declaredSize != 0 {
			writeRawEntry(t, zw, hdr, f)
			continue
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatalf("zip entry %s: %v", f.name, err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatalf("zip write %s: %v", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("zip close: %v", err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name string
	data []byte
	mode fs.FileMode
	// declaredSize, when set, is the unpacked size written in the header
	// in place of the real one, as a crafted zip bomb would.
	declaredSize uint64
}

// writeRawEntry writes f deflated, with a header that declares
// f.declaredSize bytes.
func writeRawEntry(t *testing.T, zw *zip.Writer, hdr *zip.FileHeader, f zipEntry) {
	t.Helper()
	var compressed bytes.Buffer
	fw, err := flate.NewWriter(&compressed, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(f.data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	hdr.CRC32 = crc32.ChecksumIEEE(f.data)
	hdr.CompressedSize64 = uint64(compressed.Len())
	hdr.UncompressedSize64 = f.declaredSize
	w, err := zw.CreateRaw(hdr)
	if err != nil {
		t.Fatalf("zip raw entry %s: %v", f.name, err)
	}
	if _, err := w.Write(compressed.Bytes()); err != nil {
		t.Fatalf("zip raw write %s: %v", f.name, err)
	}
}

func TestConversationZip(t *testing.T) {
	imp := &fakeImporter{strictXML: true}
	env := newTestEnv(t, imp, func(c *Config) { c.Zip = true })
	c := env.client()

	auth := c.do("GET", q("checkauth"), nil)
	c.cookie = auth.lines[1] + "=" + auth.lines[2]
	if r := c.do("GET", q("init"), nil); r.lines[0] != "zip=yes" {
		t.Fatalf("init = %q, want zip=yes first", r.lines)
	}

	image := bytes.Repeat([]byte{0xff, 0xd8, 0x01}, 100)
	archive := buildZip(t,
		zipEntry{name: "import.xml", data: []byte(importXML)},
		zipEntry{name: "offers.xml", data: []byte(offersXML)},
		zipEntry{name: "import_files/ab/abcd.jpg", data: image},
	)
	half := len(archive) / 2
	c.upload("import0_1.zip", archive[:half], archive[half:])

	for _, name := range []string{"import.xml", "offers.xml"} {
		r := c.do("GET", q("import", "filename", name), nil)
		if r.lines[0] != "success" {
			t.Fatalf("import %s = %q, want success", name, r.lines)
		}
	}
	if got := strings.Join(imp.names(), ","); got != "import.xml,offers.xml" {
		t.Errorf("importer saw %q, want import.xml,offers.xml", got)
	}
	calls := imp.callList()
	if len(calls) == 2 && string(calls[1].content) != offersXML {
		t.Errorf("offers.xml content differs from the archive entry")
	}

	sessionDir := filepath.Dir(calls[0].path)
	got, err := os.ReadFile(filepath.Join(sessionDir, "import_files", "ab", "abcd.jpg"))
	if err != nil {
		t.Fatalf("image not unpacked: %v", err)
	}
	if !bytes.Equal(got, image) {
		t.Errorf("unpacked image differs")
	}
}

func TestImportProgress(t *testing.T) {
	imp := &fakeImporter{block: make(chan struct{}), started: make(chan string, 1)}
	env := newTestEnv(t, imp, func(c *Config) { c.ProgressAfter = 20 * time.Millisecond })
	c := env.client()
	c.login()
	c.upload("import.xml", []byte(importXML))

	first := c.do("GET", q("import", "filename", "import.xml"), nil)
	if first.lines[0] != "progress" {
		t.Fatalf("first import = %q, want progress", first.lines)
	}
	if len(first.lines) < 2 || !hasCyrillic(first.lines[1]) || !strings.Contains(first.lines[1], "import.xml") {
		t.Errorf("progress line 2 = %q, want a Russian line naming import.xml", first.lines)
	}
	<-imp.started

	second := c.do("GET", q("import", "filename", "import.xml"), nil)
	if second.lines[0] != "progress" {
		t.Errorf("second import = %q, want progress", second.lines)
	}

	close(imp.block)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := env.h.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}

	done := c.do("GET", q("import", "filename", "import.xml"), nil)
	if strings.Join(done.lines, "|") != "success" {
		t.Errorf("import after finish = %q, want success", done.lines)
	}
	if n := len(imp.callList()); n != 1 {
		t.Errorf("importer calls = %d, want 1", n)
	}
}

func TestCheckauthWrongCredentials(t *testing.T) {
	tests := []struct {
		name string
		auth string
	}{
		{"wrong password", basic(testUser, "wrong")},
		{"wrong user", basic("admin", testPassword)},
		{"password prefix", basic(testUser, testPassword[:4])},
		{"no header", ""},
		{"not basic", "Bearer " + testPassword},
		{"bad base64", "Basic !!!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := &fakeImporter{}
			env := newTestEnv(t, imp, nil)
			c := &client{env: env, path: PathExchange, auth: tt.auth}

			r := c.do("GET", q("checkauth"), nil)
			assertFailure(t, r)
			if got := r.header.Get("Set-Cookie"); got != "" {
				t.Errorf("Set-Cookie = %q, want none", got)
			}
			assertFailure(t, c.do("GET", q("init"), nil))
			if n := len(imp.callList()); n != 0 {
				t.Errorf("importer calls = %d, want 0", n)
			}
			if strings.Contains(env.logs.String(), testPassword) {
				t.Error("logs contain the password")
			}
		})
	}
}

func TestFilenamePathComponents(t *testing.T) {
	tests := []struct {
		name   string
		stored string // path under the session directory; "" when rejected
	}{
		{"../x.xml", ""},
		{"a/../../x.xml", ""},
		{`..\x.xml`, ""},
		{"import_files/../../../x.xml", ""},
		{"", ""},
		{"/", ""},
		{"/etc/x.xml", "etc/x.xml"},
		{"a/b.xml", "a/b.xml"},
		{`a\b.xml`, "a/b.xml"},
		{`C:\Temp\import.xml`, "Temp/import.xml"},
		{"import_files/ab/abcd.jpg", "import_files/ab/abcd.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := &fakeImporter{}
			env := newTestEnv(t, imp, nil)
			c := env.client()
			c.login()

			r := c.do("POST", q("file", "filename", tt.name), []byte(importXML))
			if tt.stored == "" {
				assertFailure(t, r)
				assertFailure(t, c.do("GET", q("import", "filename", tt.name), nil))
				if n := len(imp.callList()); n != 0 {
					t.Errorf("importer calls = %d, want 0", n)
				}
				assertOnlyUnder(t, filepath.Dir(env.dir), env.dir)
				return
			}

			if r.lines[0] != "success" {
				t.Fatalf("upload = %q, want success", r.lines)
			}
			imported := c.do("GET", q("import", "filename", tt.name), nil)
			if imported.lines[0] != "success" {
				t.Fatalf("import = %q, want success", imported.lines)
			}
			calls := imp.callList()
			if len(calls) != 1 {
				t.Fatalf("importer calls = %d, want 1", len(calls))
			}
			rel, err := filepath.Rel(env.dir, calls[0].path)
			if err != nil {
				t.Fatal(err)
			}
			// rel is "session-<id>/<stored>".
			_, got, _ := strings.Cut(filepath.ToSlash(rel), "/")
			if got != tt.stored {
				t.Errorf("stored at %q, want %q", got, tt.stored)
			}
			if calls[0].name != tt.stored {
				t.Errorf("importer name = %q, want %q", calls[0].name, tt.stored)
			}
			assertOnlyUnder(t, filepath.Dir(env.dir), env.dir)
		})
	}
}

// assertOnlyUnder fails if parent holds anything but dir.
func assertOnlyUnder(t *testing.T, parent, dir string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Join(parent, e.Name()) != dir {
			t.Errorf("unexpected %s outside the upload root", e.Name())
		}
	}
}

func TestZipRejected(t *testing.T) {
	zeros := make([]byte, 10<<20)
	many := make([]zipEntry, 6)
	for i := range many {
		many[i] = zipEntry{name: fmt.Sprintf("import_files/%d.jpg", i), data: []byte{byte(i)}}
	}
	tests := []struct {
		name      string
		configure func(*Config)
		entries   []zipEntry
	}{
		{
			name:    "highly compressed entry",
			entries: []zipEntry{{name: "import.xml", data: []byte(importXML)}, {name: "offers.xml", data: zeros}},
		},
		{
			name:      "too many entries",
			configure: func(c *Config) { c.MaxEntries = 5 },
			entries:   append([]zipEntry{{name: "import.xml", data: []byte(importXML)}}, many...),
		},
		{
			name:      "unpacked size over limit",
			configure: func(c *Config) { c.MaxUnzipped = 100 },
			entries:   []zipEntry{{name: "import.xml", data: []byte(importXML)}},
		},
		{
			name:    "path traversal",
			entries: []zipEntry{{name: "import.xml", data: []byte(importXML)}, {name: "../evil.xml", data: []byte("x")}},
		},
		{
			name:    "absolute path",
			entries: []zipEntry{{name: "import.xml", data: []byte(importXML)}, {name: "/tmp/evil.xml", data: []byte("x")}},
		},
		{
			name: "header understates size",
			entries: []zipEntry{
				{name: "import.xml", data: []byte(importXML)},
				{name: "offers.xml", data: bytes.Repeat([]byte("<Предложение/>"), 1<<16), declaredSize: 1000},
			},
		},
		{
			name:    "symlink",
			entries: []zipEntry{{name: "import.xml", data: []byte(importXML)}, {name: "link", data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := &fakeImporter{}
			env := newTestEnv(t, imp, func(c *Config) {
				c.Zip = true
				if tt.configure != nil {
					tt.configure(c)
				}
			})
			c := env.client()
			c.login()
			c.upload("import.zip", buildZip(t, tt.entries...))

			assertFailure(t, c.do("GET", q("import", "filename", "import.xml"), nil))
			if n := len(imp.callList()); n != 0 {
				t.Errorf("importer calls = %d, want 0", n)
			}
			// The bad archive is not unpacked on a second try either.
			assertFailure(t, c.do("GET", q("import", "filename", "import.xml"), nil))
			if n := len(imp.callList()); n != 0 {
				t.Errorf("importer calls after retry = %d, want 0", n)
			}
			assertNoFile(t, env.dir, "import.xml")
			assertOnlyUnder(t, filepath.Dir(env.dir), env.dir)
		})
	}
}

// assertNoFile fails if a file called name exists anywhere under dir.
func assertNoFile(t *testing.T, dir, name string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == name {
			t.Errorf("%s left behind", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUploadOverLimit(t *testing.T) {
	imp := &fakeImporter{}
	env := newTestEnv(t, imp, func(c *Config) {
		c.FileLimit = 8
		c.MaxUpload = 10
	})
	c := env.client()
	c.login()

	c.upload("import.xml", []byte("<a>12"))
	r := c.do("POST", q("file", "filename", "import.xml"), []byte("345</a>"))
	assertFailure(t, r)
	assertNoFile(t, env.dir, "import.xml")

	assertFailure(t, c.do("GET", q("import", "filename", "import.xml"), nil))
	if n := len(imp.callList()); n != 0 {
		t.Errorf("importer calls = %d, want 0", n)
	}
}

func TestImportFailure(t *testing.T) {
	const ru = "В файле import.xml у товара «Чай» не указан артикул. Заполните артикул в 1С."
	tests := []struct {
		name     string
		result   error
		content  string
		strict   bool
		wantLine string // exact line 2, or "" to check only that it is Russian
	}{
		{
			name:     "input error",
			result:   &model.InputError{File: "import.xml", Err: errors.New("product 1: missing SKU"), Ru: ru},
			content:  importXML,
			wantLine: ru,
		},
		{
			name:    "internal error",
			result:  errors.New("ledger: database is locked"),
			content: importXML,
		},
		{
			name:    "truncated upload",
			content: importXML[:len(importXML)/2],
			strict:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := &fakeImporter{results: map[string]error{"import.xml": tt.result}, strictXML: tt.strict}
			env := newTestEnv(t, imp, nil)
			c := env.client()
			c.login()
			c.upload("import.xml", []byte(tt.content))

			r := c.do("GET", q("import", "filename", "import.xml"), nil)
			assertFailure(t, r)
			if tt.wantLine != "" && (len(r.lines) < 2 || r.lines[1] != tt.wantLine) {
				t.Errorf("line 2 = %q, want %q", r.lines, tt.wantLine)
			}
			if strings.Contains(strings.Join(r.lines, "\n"), "database is locked") {
				t.Errorf("internal cause leaked to 1C: %q", r.lines)
			}
			if n := len(imp.callList()); n != 1 {
				t.Errorf("importer calls = %d, want 1", n)
			}
		})
	}
}

func TestUnknownModeAndType(t *testing.T) {
	tests := []struct {
		name  string
		query url.Values
	}{
		{"unknown mode", q("frobnicate")},
		{"missing mode", url.Values{"type": {"catalog"}}},
		{"sale type", url.Values{"type": {"sale"}, "mode": {"checkauth"}}},
		{"missing type", url.Values{"mode": {"init"}}},
		{"import without filename", q("import")},
		{"import of a file never uploaded", q("import", "filename", "offers.xml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := &fakeImporter{}
			env := newTestEnv(t, imp, nil)
			c := env.client()
			c.login()

			assertFailure(t, c.do("GET", tt.query, nil))
			if n := len(imp.callList()); n != 0 {
				t.Errorf("importer calls = %d, want 0", n)
			}
		})
	}
}

func TestInitRemovesPreviousUpload(t *testing.T) {
	imp := &fakeImporter{}
	env := newTestEnv(t, imp, nil)
	c := env.client()
	c.login()
	c.upload("import.xml", []byte(importXML))

	if r := c.do("GET", q("init"), nil); r.lines[0] != "zip=no" {
		t.Fatalf("second init = %q", r.lines)
	}
	assertNoFile(t, env.dir, "import.xml")
	assertFailure(t, c.do("GET", q("import", "filename", "import.xml"), nil))
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing password", Config{Username: "u", Dir: dir}},
		{"missing user", Config{Password: "p", Dir: dir}},
		{"missing dir", Config{Username: "u", Password: "p"}},
		{"upload below file limit", Config{Username: "u", Password: "p", Dir: dir, FileLimit: 10, MaxUpload: 5}},
		{"progress after too long", Config{Username: "u", Password: "p", Dir: dir, ProgressAfter: time.Minute}},
		{"bad cookie name", Config{Username: "u", Password: "p", Dir: dir, CookieName: "a.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, &fakeImporter{}, nil); err == nil {
				t.Error("New returned no error")
			}
		})
	}
}

func TestOtherMethodGetsFailure(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, nil)
	for _, method := range []string{http.MethodDelete, http.MethodPut} {
		assertFailure(t, env.client().do(method, q("checkauth"), nil))
	}
}

func TestFailedLoginsThrottled(t *testing.T) {
	env := newTestEnv(t, &fakeImporter{}, nil)
	wrong := env.client()
	wrong.auth = basic(testUser, "guess")
	for i := 0; i < loginBurst; i++ {
		assertFailure(t, wrong.do("GET", q("checkauth"), nil))
	}
	right := env.client()
	r := right.do("GET", q("checkauth"), nil)
	if r.lines[0] != "failure" || !strings.Contains(strings.Join(r.lines, " "), "Слишком много") {
		t.Fatalf("right password after %d failures = %q, want failure with the too-many message", loginBurst, r.lines)
	}
	env.clock.Add(loginEvery)
	if r := right.do("GET", q("checkauth"), nil); r.lines[0] != "success" {
		t.Errorf("right password after the budget refilled = %q, want success", r.lines)
	}
}
