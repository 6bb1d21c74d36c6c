package commerceml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/orisano/gosax"

	"obmenhub/hub/model"
)

// Options configures Parse.
type Options struct {
	// Location is the time zone of a ДатаФормирования written without one.
	// Nil means Europe/Moscow, the zone of most 1C installations.
	Location *time.Location
}

// readBufferSize is the tokenizer's window. It grows only for a single
// token longer than this, such as a huge text node.
const readBufferSize = 256 << 10

var moscow = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	// Moscow has kept UTC+3 without daylight saving since 2014.
	return time.FixedZone("MSK", 3*60*60)
})

// Parse reads one CommerceML file from r and passes its records to h: the
// Document first, then products and offers in file order. file names the
// file in errors. Parse returns the Document, complete with the warehouses
// and price types the file declared.
//
// A file that is not a catalogue or offers package, or that is not
// well-formed, or that holds an invalid value is rejected with a
// *model.InputError. An error returned by h stops the parse and is
// returned unchanged.
//
// The *model.Product and *model.Offer passed to h, and their slices and
// Quantity, are reused for the next record: h must copy what it keeps.
func Parse(r io.Reader, file string, opt Options, h model.Handler) (*model.Document, error) {
	p := &parser{file: file, loc: opt.Location, h: h}
	if p.loc == nil {
		p.loc = moscow()
	}
	p.src = &errReader{}
	src, bom, err := decodeInput(r, file)
	if err != nil {
		return nil, err
	}
	p.src.r = src
	p.offset = int64(bom)
	p.line = 1
	p.tok = gosax.NewReaderSize(p.src, readBufferSize)
	p.strings = make(map[string]string)
	if err := p.run(); err != nil {
		return nil, err
	}
	return &p.doc, nil
}

// errReader remembers a read error of the underlying reader, so that the
// parser can tell an I/O failure from a syntax error of the tokenizer.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

type parser struct {
	file string
	loc  *time.Location
	h    model.Handler
	src  *errReader
	tok  *gosax.Reader

	// Position of the current token.
	offset int64
	line   int

	// Open elements: qualified names concatenated in names, with the end
	// of each in nameEnds, and their elem codes.
	names    []byte
	nameEnds []int
	elems    []elem

	text    []byte // text of the innermost open leaf element
	collect bool   // whether text is collected for the innermost element

	rootSeen, rootClosed     bool
	sawCatalog, sawOffers    bool
	sawClassifier, docSent   bool
	doc                      model.Document
	product                  model.Product
	offer                    model.Offer
	offerID, characteristic  string
	quantity                 model.Decimal
	stockQtySet, priceValSet bool

	strings map[string]string // interned warehouse, price type, currency and unit ids
}

func (p *parser) pos() Position { return Position{Line: p.line, Offset: p.offset} }

func (p *parser) run() error {
	for {
		ev, err := p.tok.Event()
		if err != nil {
			return p.tokenError(err)
		}
		b := ev.Bytes
		switch ev.Type() {
		case gosax.EventStart:
			err = p.startTag(b)
		case gosax.EventEnd:
			err = p.endTag(b)
		case gosax.EventText:
			err = p.charData(b)
		case gosax.EventCData:
			err = p.cdata(b)
		case gosax.EventEOF:
			return p.finish()
		}
		if err != nil {
			return err
		}
		p.offset += int64(len(b))
		p.line += bytes.Count(b, []byte{'\n'})
	}
}

func (p *parser) tokenError(err error) error {
	if p.src.err != nil {
		return fmt.Errorf("read %s: %w", p.file, p.src.err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return truncatedError(p.file, p.pos(), "")
	}
	return syntaxError(p.file, p.pos(), err.Error())
}

func (p *parser) startTag(b []byte) error {
	inner := b[1 : len(b)-1]
	selfClosing := len(inner) > 0 && inner[len(inner)-1] == '/'
	if selfClosing {
		inner = inner[:len(inner)-1]
	}
	n := 0
	for n < len(inner) && !isSpace(inner[n]) {
		n++
	}
	qname, attrs := inner[:n], inner[n:]
	if len(qname) == 0 {
		return syntaxError(p.file, p.pos(), "start tag without an element name")
	}
	if p.rootClosed {
		return syntaxError(p.file, p.pos(), "element <"+string(qname)+"> after the end of the root element")
	}

	id := lookupElem(localName(qname))
	p.names = append(p.names, qname...)
	p.nameEnds = append(p.nameEnds, len(p.names))
	p.elems = append(p.elems, id)

	var err error
	if !p.rootSeen {
		p.rootSeen = true
		err = p.openRoot(id, qname, attrs)
	} else {
		err = p.open(id, attrs)
	}
	if err != nil {
		return err
	}
	// eachAttribute used p.text as scratch space.
	p.text = p.text[:0]
	p.collect = id.isLeaf()
	if selfClosing {
		return p.close()
	}
	return nil
}

func (p *parser) endTag(b []byte) error {
	qname := trimSpace(b[2 : len(b)-1])
	if len(p.elems) == 0 {
		return syntaxError(p.file, p.pos(), "end tag </"+string(qname)+"> without a start tag")
	}
	start := 0
	if len(p.nameEnds) > 1 {
		start = p.nameEnds[len(p.nameEnds)-2]
	}
	if open := p.names[start:]; !bytes.Equal(open, qname) {
		return syntaxError(p.file, p.pos(), "end tag </"+string(qname)+"> does not match <"+string(open)+">")
	}
	return p.close()
}

// close handles the end of the innermost open element and pops it.
func (p *parser) close() error {
	err := p.closeElem()
	k := len(p.elems) - 1
	p.elems = p.elems[:k]
	p.nameEnds = p.nameEnds[:k]
	if k == 0 {
		p.names = p.names[:0]
		p.rootClosed = true
	} else {
		p.names = p.names[:p.nameEnds[k-1]]
	}
	p.collect = false
	return err
}

func (p *parser) charData(b []byte) error {
	if len(p.elems) == 0 {
		if !isBlank(b) {
			return syntaxError(p.file, p.pos(), "text outside the root element")
		}
		return nil
	}
	if !p.collect {
		if bytes.IndexByte(b, '&') >= 0 {
			// Validate the references even in text the parser skips.
			var err error
			if p.text, err = appendUnescaped(p.text[:0], b); err != nil {
				return syntaxError(p.file, p.pos(), err.Error())
			}
			p.text = p.text[:0]
		}
		return nil
	}
	var err error
	p.text, err = appendUnescaped(p.text, b)
	if err != nil {
		return syntaxError(p.file, p.pos(), err.Error())
	}
	return nil
}

func (p *parser) cdata(b []byte) error {
	if len(p.elems) == 0 {
		return syntaxError(p.file, p.pos(), "CDATA outside the root element")
	}
	if p.collect {
		p.text = append(p.text, b[len("<![CDATA["):len(b)-len("]]>")]...)
	}
	return nil
}

func (p *parser) finish() error {
	if !p.rootSeen {
		return emptyFileError(p.file)
	}
	if len(p.elems) > 0 {
		start := 0
		if len(p.nameEnds) > 1 {
			start = p.nameEnds[len(p.nameEnds)-2]
		}
		return truncatedError(p.file, p.pos(), string(p.names[start:]))
	}
	if p.docSent {
		return nil
	}
	switch {
	case p.sawOffers:
		return p.sendDocument(model.KindOffers)
	case p.sawCatalog || p.sawClassifier:
		return p.sendDocument(model.KindCatalog)
	}
	return noPackageError(p.file)
}

// parent returns the elem n levels above the innermost open element:
// parent(1) is its parent. It returns elOther above the root.
func (p *parser) parent(n int) elem {
	i := len(p.elems) - 1 - n
	if i < 0 {
		return elOther
	}
	return p.elems[i]
}

// intern returns b as a string, sharing one copy for repeated values such
// as warehouse and price type ids. The table is bounded so that a file of
// distinct values does not grow it without limit.
func (p *parser) intern(b []byte) string {
	if s, ok := p.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.strings) < 4096 {
		p.strings[s] = s
	}
	return s
}
