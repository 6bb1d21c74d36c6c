// Package client drives a CommerceML exchange endpoint the way
// 1C:Enterprise's "Обмен с сайтами" does: checkauth, init, file uploads
// split at the server's file_limit, then import repeated while the server
// returns "progress". The e2e tests and `hubctl post` use it.
package client

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Client is one exchange session. It is not safe for concurrent use.
type Client struct {
	// URL is the endpoint, such as http://127.0.0.1:8080/1c/exchange.
	URL      string
	User     string
	Password string
	// HTTP is the HTTP client. Default: one with a 60 s timeout.
	HTTP *http.Client
	// ProgressPause is the wait between repeated import calls. Default
	// 100 ms. 1C itself repeats at once.
	ProgressPause time.Duration
	// MaxChunk caps the chunk size below the server's file_limit; 0 uses
	// file_limit alone. Tests set it to force chunked uploads.
	MaxChunk int64

	cookie    string
	zip       bool
	fileLimit int64
	// Progress counts "progress" responses received, for tests.
	Progress int
}

// Response is a parsed server response: Status is the first line (success,
// progress or failure) and Lines the rest.
type Response struct {
	Status string
	Lines  []string
}

// FailureError is a "failure" response; Message is the server's text for
// the 1C operator.
type FailureError struct {
	Mode    string
	Message string
}

func (e *FailureError) Error() string {
	return fmt.Sprintf("exchange %s: failure: %s", e.Mode, e.Message)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// call sends one request of the protocol and parses the response. A
// "failure" response is returned as *FailureError.
func (c *Client) call(ctx context.Context, method, mode string, query url.Values, body io.Reader) (*Response, error) {
	if query == nil {
		query = url.Values{}
	}
	query.Set("type", "catalog")
	query.Set("mode", mode)
	req, err := http.NewRequestWithContext(ctx, method, c.URL+"?"+query.Encode(), body)
	if err != nil {
		return nil, fmt.Errorf("exchange %s: %w", mode, err)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	} else {
		req.SetBasicAuth(c.User, c.Password)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("exchange %s: %w", mode, err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("exchange %s: read response: %w", mode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("exchange %s: HTTP %d: %s", mode, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	lines := strings.Split(strings.ReplaceAll(strings.TrimRight(string(text), "\r\n"), "\r\n", "\n"), "\n")
	a := &Response{Status: lines[0], Lines: lines[1:]}
	switch {
	case a.Status == "success", a.Status == "progress":
		return a, nil
	case a.Status == "failure":
		return a, &FailureError{Mode: mode, Message: strings.Join(a.Lines, "\n")}
	case mode == "init" && strings.Contains(a.Status, "="):
		// init returns key=value lines only, as 1C-Bitrix does.
		return &Response{Status: "success", Lines: lines}, nil
	}
	return a, fmt.Errorf("exchange %s: response starts with %q, expected success, progress or failure", mode, a.Status)
}

// Login runs checkauth and init, and remembers the session cookie, zip
// permission and file_limit.
func (c *Client) Login(ctx context.Context) error {
	a, err := c.call(ctx, http.MethodGet, "checkauth", nil, nil)
	if err != nil {
		return err
	}
	if len(a.Lines) < 2 {
		return fmt.Errorf("exchange checkauth: response has %d lines, expected the cookie name and value", len(a.Lines)+1)
	}
	c.cookie = a.Lines[0] + "=" + a.Lines[1]
	a, err = c.call(ctx, http.MethodGet, "init", nil, nil)
	if err != nil {
		return err
	}
	for _, l := range a.Lines {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "zip":
			c.zip = v == "yes"
		case "file_limit":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("exchange init: invalid file_limit %q", v)
			}
			c.fileLimit = n
		}
	}
	if c.fileLimit == 0 {
		return errors.New("exchange init: response has no file_limit")
	}
	return nil
}

// Zip reports whether the server accepts zip archives.
func (c *Client) Zip() bool { return c.zip }

// Upload posts data as name, in chunks of at most file_limit bytes.
func (c *Client) Upload(ctx context.Context, name string, data []byte) error {
	chunk := c.fileLimit
	if c.MaxChunk > 0 && c.MaxChunk < chunk {
		chunk = c.MaxChunk
	}
	for off := int64(0); ; off += chunk {
		end := min(off+chunk, int64(len(data)))
		q := url.Values{"filename": {name}}
		if _, err := c.call(ctx, http.MethodPost, "file", q, bytes.NewReader(data[off:end])); err != nil {
			return err
		}
		if end == int64(len(data)) {
			return nil
		}
	}
}

// Import requests the import of name and repeats the call while the
// server returns "progress".
func (c *Client) Import(ctx context.Context, name string) error {
	pause := c.ProgressPause
	if pause == 0 {
		pause = 100 * time.Millisecond
	}
	for {
		a, err := c.call(ctx, http.MethodGet, "import", url.Values{"filename": {name}}, nil)
		if err != nil {
			return err
		}
		if a.Status == "success" {
			return nil
		}
		c.Progress++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Complete sends mode=complete, which protocol 3.x ends a session with.
func (c *Client) Complete(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodGet, "complete", nil, nil)
	return err
}

// PostFiles runs a whole exchange: login, upload of every file (packed in
// one zip archive when zipped is true and the server allows it), then an
// import of each file in the order given.
func (c *Client) PostFiles(ctx context.Context, zipped bool, paths ...string) error {
	if err := c.Login(ctx); err != nil {
		return err
	}
	names := make([]string, len(paths))
	contents := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		names[i], contents[i] = filepath.Base(p), b
	}
	if zipped && c.zip {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range names {
			w, err := zw.Create(names[i])
			if err != nil {
				return err
			}
			if _, err := w.Write(contents[i]); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := c.Upload(ctx, "exchange.zip", buf.Bytes()); err != nil {
			return err
		}
	} else {
		for i := range names {
			if err := c.Upload(ctx, names[i], contents[i]); err != nil {
				return err
			}
		}
	}
	for _, n := range names {
		if err := c.Import(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
