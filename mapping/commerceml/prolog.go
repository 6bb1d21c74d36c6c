package commerceml

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// prologPeek is how many bytes decodeInput reads ahead to find the XML
// declaration. A declaration is at most a few dozen bytes.
const prologPeek = 1024

// decodeInput returns a reader of the UTF-8 text of r without its byte order
// mark. It honours a UTF-16 byte order mark and otherwise the encoding that the
// XML declaration names, which may be any charset that golang.org/x/text knows
// by its WHATWG or IANA name. bomLen is the number of bytes skipped.
func decodeInput(r io.Reader, file string) (out io.Reader, bomLen int, err error) {
	br := bufio.NewReaderSize(r, prologPeek)
	head, err := br.Peek(prologPeek)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, fmt.Errorf("read %s: %w", file, err)
	}

	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		head = head[3:]
		bomLen = 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		return transform.NewReader(br, dec), 0, nil
	}

	name := declaredEncoding(head)
	if name == "" || isUTF8(name) {
		return br, bomLen, nil
	}
	enc := lookupEncoding(name)
	if enc == nil {
		return nil, 0, unknownEncodingError(file, name)
	}
	return transform.NewReader(br, enc.NewDecoder()), bomLen, nil
}

// declaredEncoding returns the encoding pseudo-attribute of the XML
// declaration at the start of head, or "" when there is none.
func declaredEncoding(head []byte) string {
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(head, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := head[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	j := bytes.IndexByte(rest, q)
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func isUTF8(name string) bool {
	return strings.EqualFold(name, "utf-8") || strings.EqualFold(name, "utf8")
}

// lookupEncoding finds a charset by its WHATWG label first, because that index
// covers the common aliases (cp1251, win-1251), and then by its IANA name.
// It returns nil for a name neither index knows or can decode.
func lookupEncoding(name string) encoding.Encoding {
	if enc, err := htmlindex.Get(name); err == nil && enc != nil {
		return enc
	}
	if enc, err := ianaindex.IANA.Encoding(name); err == nil && enc != nil {
		return enc
	}
	return nil
}
