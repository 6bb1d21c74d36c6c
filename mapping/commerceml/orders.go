package commerceml

// Orders side of the exchange: WriteOrders produces the document that the
// site returns to 1C for type=sale&mode=query, and ParseOrderStatuses reads
// the document that 1C posts back with type=sale&mode=file.
//
// The layout follows the files that 1C is known to accept: the official
// example "Заказ с сайта" of the 1C site exchange protocol (CML 2.03) and
// the query response of the 1C-Bitrix component sale.export.1c (CML 2.05).

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"obmenhub/hub/model"
)

// Order is one sales-channel order as the site sends it to 1C.
type Order struct {
	// Channel names the sales channel. It goes to the ЗначениеРеквизита
	// "Сайт" and into the buyer's Ид.
	Channel string
	// ID is the order's Ид, which 1C uses to match later status changes.
	ID string
	// Number is the Номер shown in 1C. Empty means ID.
	Number string
	// Date is when the order was placed; WriteOrders writes it as Дата and
	// Время in WriteOptions.Location.
	Date time.Time
	// Currency is the Валюта code as stored in 1C, for example "руб" or "RUB".
	Currency string
	Lines    []OrderLine
	// Status is the ЗначениеРеквизита "Статус заказа"; empty omits it.
	Status string
	// Customer is the buyer's name. Empty means an anonymous buyer of the
	// channel, so that 1C puts all such orders on one counterparty.
	Customer string
	// PaymentMethod is the ЗначениеРеквизита "Метод оплаты"; empty omits it.
	PaymentMethod string
}

// OrderLine is one Товар of an order.
type OrderLine struct {
	// SKU is the 1C offer Ид: "product" or "product#characteristic".
	SKU string
	// Name is the Наименование. Empty means SKU.
	Name  string
	Qty   int64
	Price model.Decimal
}

// WriteOptions configures WriteOrders.
type WriteOptions struct {
	// Encoding is "UTF-8" (the default) or "windows-1251". It is written in
	// the XML declaration and used for the bytes and the returned
	// Content-Type.
	Encoding string
	// SchemaVersion is the ВерсияСхемы. Default "2.05". Versions 3.x put
	// every Документ into a Контейнер in the urn:1C.ru:commerceml_3
	// namespace, as the 1C-Bitrix exchange module reads them.
	SchemaVersion string
	// Location is the time zone of Дата, Время and ДатаФормирования.
	// Nil means Europe/Moscow.
	Location *time.Location
	// Generated is the ДатаФормирования. Zero means the current time.
	Generated time.Time
}

// ErrTruncated is in the cause of a rejected orders file that ends before
// its root element closes, as a file does while chunks are still to come.
var ErrTruncated = errors.New("file ends before the root element closes")

const (
	defaultOrdersSchema = "2.05"
	orderOperation      = "Заказ товара"
)

// Canonical encoding names, as written in the XML declaration.
const (
	EncodingUTF8    = "UTF-8"
	EncodingCP1251  = "windows-1251"
	contentTypeBase = "application/xml; charset="
)

// orderEncoding returns the canonical name and the encoder of an encoding
// that WriteOrders supports; the encoder is nil for UTF-8.
func orderEncoding(name string) (string, *encoding.Encoder, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil, nil
	case "windows-1251", "cp1251", "win-1251":
		// A character outside windows-1251, such as "€" or a Chinese
		// letter in a product name, becomes a character reference
		// (&#8364;), which every XML reader decodes back.
		return EncodingCP1251, encoding.HTMLEscapeUnsupported(charmap.Windows1251.NewEncoder()), nil
	}
	return "", nil, fmt.Errorf("unsupported orders encoding %q: use %q or %q", name, EncodingUTF8, EncodingCP1251)
}

// WriteOrders writes orders as one КоммерческаяИнформация with a Документ
// per order and returns the Content-Type that matches its bytes, for
// example "application/xml; charset=windows-1251". It checks every order
// before it writes anything, so an invalid order leaves w untouched.
func WriteOrders(w io.Writer, orders []Order, opt WriteOptions) (string, error) {
	encName, encoder, err := orderEncoding(opt.Encoding)
	if err != nil {
		return "", err
	}
	schema := opt.SchemaVersion
	if schema == "" {
		schema = defaultOrdersSchema
	}
	loc := opt.Location
	if loc == nil {
		loc = moscow()
	}
	generated := opt.Generated
	if generated.IsZero() {
		generated = time.Now()
	}

	var errs []error
	for i := range orders {
		if err := validateOrder(&orders[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}

	out := w
	var tw *transform.Writer
	if encoder != nil {
		tw = transform.NewWriter(w, encoder)
		out = tw
	}
	bw := bufio.NewWriter(out)
	ow := &orderWriter{w: bw, loc: loc}
	ow.document(orders, encName, schema, generated)
	if ow.err != nil {
		return "", ow.err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return "", err
		}
	}
	return contentTypeBase + encName, nil
}

func validateOrder(o *Order) error {
	var problems []string
	if strings.TrimSpace(o.ID) == "" {
		problems = append(problems, "ID is empty")
	}
	if o.Date.IsZero() {
		problems = append(problems, "Date is zero")
	}
	if strings.TrimSpace(o.Currency) == "" {
		problems = append(problems, "Currency is empty")
	}
	if len(o.Lines) == 0 {
		problems = append(problems, "order has no lines")
	}
	for i, l := range o.Lines {
		if strings.TrimSpace(l.SKU) == "" {
			problems = append(problems, fmt.Sprintf("line %d: SKU is empty", i+1))
		}
		if l.Qty <= 0 {
			problems = append(problems, fmt.Sprintf("line %d (%s): quantity %d is not positive", i+1, l.SKU, l.Qty))
		}
		if l.Price.IsNeg() {
			problems = append(problems, fmt.Sprintf("line %d (%s): price %s is negative", i+1, l.SKU, l.Price))
		}
	}
	if _, _, err := orderSums(o); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("order %q (channel %q): %s", o.ID, o.Channel, strings.Join(problems, "; "))
}

// orderSums returns the Сумма of each line (price × quantity) and of the
// whole order.
func orderSums(o *Order) ([]model.Decimal, model.Decimal, error) {
	lineSums := make([]model.Decimal, len(o.Lines))
	total := model.IntDecimal(0)
	for i, l := range o.Lines {
		sum, err := l.Price.Mul(model.IntDecimal(l.Qty).Decimal)
		if err != nil {
			return nil, model.Decimal{}, fmt.Errorf("line %d (%s): sum overflows: %w", i+1, l.SKU, err)
		}
		lineSums[i] = model.Decimal{Decimal: sum}
		t, err := total.Add(sum)
		if err != nil {
			return nil, model.Decimal{}, fmt.Errorf("order sum overflows: %w", err)
		}
		total = model.Decimal{Decimal: t}
	}
	return lineSums, total, nil
}

// money formats an amount with at least two fraction digits, as 1C
// writes them ("340.00"); an amount with more digits keeps them.
func money(d model.Decimal) string {
	return d.Pad(2).String()
}

// orderWriter writes indented UTF-8 XML and keeps the first write error.
type orderWriter struct {
	w     *bufio.Writer
	loc   *time.Location
	depth int
	err   error
}

func (ow *orderWriter) raw(s string) {
	if ow.err == nil {
		_, ow.err = ow.w.WriteString(s)
	}
}

func (ow *orderWriter) indent() {
	ow.raw("\n" + strings.Repeat("\t", ow.depth))
}

func (ow *orderWriter) open(name string) {
	ow.indent()
	ow.raw("<" + name + ">")
	ow.depth++
}

func (ow *orderWriter) close(name string) {
	ow.depth--
	ow.indent()
	ow.raw("</" + name + ">")
}

// text writes <name>value</name> with value escaped.
func (ow *orderWriter) text(name, value string) {
	ow.indent()
	ow.raw("<" + name + ">" + escapeXML(value) + "</" + name + ">")
}

func escapeXML(s string) string {
	var b strings.Builder
	// xml.EscapeText writes to a strings.Builder, which never fails.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (ow *orderWriter) requisite(name, value string) {
	ow.open("ЗначениеРеквизита")
	ow.text("Наименование", name)
	ow.text("Значение", value)
	ow.close("ЗначениеРеквизита")
}

func (ow *orderWriter) document(orders []Order, encName, schema string, generated time.Time) {
	ow.raw(`<?xml version="1.0" encoding="` + encName + `"?>`)
	container := strings.HasPrefix(schema, "3")
	ns := ""
	if container {
		ns = ` xmlns="urn:1C.ru:commerceml_3"`
	}
	ow.raw("\n<КоммерческаяИнформация" + ns + ` ВерсияСхемы="` + escapeXML(schema) +
		`" ДатаФормирования="` + generated.In(ow.loc).Format("2006-01-02T15:04:05") + `">`)
	ow.depth++
	for i := range orders {
		if container {
			ow.open("Контейнер")
		}
		ow.order(&orders[i])
		if container {
			ow.close("Контейнер")
		}
	}
	ow.depth--
	ow.raw("\n</КоммерческаяИнформация>\n")
}

func (ow *orderWriter) order(o *Order) {
	// validateOrder already checked that the sums do not overflow.
	lineSums, total, _ := orderSums(o)
	number := o.Number
	if number == "" {
		number = o.ID
	}
	date := o.Date.In(ow.loc)

	ow.open("Документ")
	ow.text("Ид", o.ID)
	ow.text("Номер", number)
	ow.text("Дата", date.Format(time.DateOnly))
	ow.text("ХозОперация", orderOperation)
	ow.text("Роль", "Продавец")
	ow.text("Валюта", o.Currency)
	ow.text("Курс", "1")
	ow.text("Сумма", money(total))
	ow.buyer(o)
	ow.text("Время", date.Format(time.TimeOnly))

	ow.open("Товары")
	for i, l := range o.Lines {
		ow.line(l, lineSums[i])
	}
	ow.close("Товары")

	ow.open("ЗначенияРеквизитов")
	if o.PaymentMethod != "" {
		ow.requisite("Метод оплаты", o.PaymentMethod)
	}
	if o.Status != "" {
		ow.requisite("Статус заказа", o.Status)
	}
	if o.Channel != "" {
		ow.requisite("Сайт", o.Channel)
	}
	ow.close("ЗначенияРеквизитов")
	ow.close("Документ")
}

// buyer writes the minimal Контрагенты block: one buyer with an Ид of the
// form "channel#customer", as the 1C-Bitrix module writes "user#login#name".
func (ow *orderWriter) buyer(o *Order) {
	name := o.Customer
	if name == "" {
		name = "Покупатель " + o.Channel
		if o.Channel == "" {
			name = "Покупатель"
		}
	}
	ow.open("Контрагенты")
	ow.open("Контрагент")
	ow.text("Ид", o.Channel+"#"+o.Customer)
	ow.text("Наименование", name)
	ow.text("ПолноеНаименование", name)
	ow.text("Роль", "Покупатель")
	ow.close("Контрагент")
	ow.close("Контрагенты")
}

func (ow *orderWriter) line(l OrderLine, sum model.Decimal) {
	name := l.Name
	if name == "" {
		name = l.SKU
	}
	ow.open("Товар")
	ow.text("Ид", l.SKU)
	ow.text("Наименование", name)
	// NOTE: every line is written in pieces (ОКЕИ code 796), because
	// OrderLine carries no unit.
	ow.indent()
	ow.raw(`<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>`)
	ow.text("ЦенаЗаЕдиницу", money(l.Price))
	ow.text("Количество", strconv.FormatInt(l.Qty, 10))
	ow.text("Сумма", money(sum))
	ow.open("ЗначенияРеквизитов")
	ow.requisite("ВидНоменклатуры", "Товар")
	ow.requisite("ТипНоменклатуры", "Товар")
	ow.close("ЗначенияРеквизитов")
	ow.close("Товар")
}

// OrderStatus is the state of one order in 1C: the Ид and Номер of a
// Документ and its status requisites. A nil flag or zero time means the
// document did not mention it, which is not the same as false.
type OrderStatus struct {
	ID     string
	Number string
	// Number1C is the order's number in 1C (Номер1С, CML 2.08 and later).
	Number1C string
	// Deleted is ПометкаУдаления of the document.
	Deleted *bool

	Status   string // "Статус заказа", for example "[F] Доставлен"
	StatusID string // "Статуса заказа ИД", for example "F"

	Posted    *bool // "Проведен"
	Cancelled *bool // "Отменен"
	Final     *bool // "Финальный статус"
	Paid      *bool // "Заказ оплачен"
	Delivery  *bool // "Доставка разрешена"
	Shipped   *bool // "Отгружен"

	PaidAt          time.Time // "Дата оплаты по 1С" or "Дата оплаты"
	PaymentNumber   string    // "Номер оплаты по 1С" or "Номер платежного документа"
	ShippedAt       time.Time // "Дата отгрузки по 1С"
	ShipmentNumber  string    // "Номер отгрузки по 1С"
	StatusChangedAt time.Time // "Дата изменения статуса"

	// Requisites holds every document-level ЗначениеРеквизита by name,
	// including the ones above, with the value as 1C sent it.
	Requisites map[string]string
}

// ParseOrderStatuses reads the orders document that 1C sends to the site
// (to.xml, documents.xml) and returns one OrderStatus per Документ of the
// operation "Заказ товара", in file order. A Документ may sit under the
// root or, in CML 3.x, under a Контейнер; documents of other operations
// are skipped. Dates written without a zone are taken in Europe/Moscow.
//
// A file that is not well-formed, has another root element, or holds an
// invalid status value is rejected with a *model.InputError.
func ParseOrderStatuses(r io.Reader, file string) ([]OrderStatus, error) {
	src, _, err := decodeInput(r, file)
	if err != nil {
		return nil, err
	}
	counter := &countingReader{r: src}
	dec := xml.NewDecoder(counter)
	// decodeInput has already converted the text to UTF-8, so the
	// encoding that the declaration names must not be applied again.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }

	p := &statusParser{file: file, dec: dec, src: counter, loc: moscow()}
	return p.run()
}

// countingReader counts the bytes read and records the end of input, so
// that a parse error can be placed at the end of the data.
type countingReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

type statusParser struct {
	file    string
	dec     *xml.Decoder
	src     *countingReader
	loc     *time.Location
	path    []string // local names of the open elements
	sawRoot bool

	out       []OrderStatus
	cur       *OrderStatus
	operation string
	reqName   string
	reqValue  string
	text      strings.Builder
}

func (p *statusParser) pos() Position {
	line, _ := p.dec.InputPos()
	return Position{Line: line, Offset: p.dec.InputOffset()}
}

func (p *statusParser) run() ([]OrderStatus, error) {
	for {
		tok, err := p.dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.tokenError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if err := p.end(t.Name.Local); err != nil {
				return nil, err
			}
		case xml.CharData:
			p.text.Write(t)
		}
	}
	if !p.sawRoot {
		return nil, inputError(p.file,
			fmt.Sprintf("Файл %s пуст или не содержит XML. Выгрузите заказы из 1С заново.", p.file),
			fmt.Errorf("orders file is empty or has no root element (%w)", ErrTruncated))
	}
	return p.out, nil
}

func (p *statusParser) tokenError(err error) error {
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		// A chunk may also end inside a multi-byte UTF-8 character, which
		// the decoder reports as invalid UTF-8 in the last bytes.
		cutRune := syn.Msg == "invalid UTF-8" && p.src.eof && p.src.n-p.dec.InputOffset() < utf8.UTFMax
		if strings.Contains(syn.Msg, "unexpected EOF") || cutRune {
			open := ""
			if len(p.path) > 0 {
				open = p.path[len(p.path)-1]
			}
			inErr := truncatedError(p.file, Position{Line: syn.Line, Offset: p.dec.InputOffset()}, open)
			inErr.Err = fmt.Errorf("%w (%w)", inErr.Err, ErrTruncated)
			return inErr
		}
		return syntaxError(p.file, Position{Line: syn.Line, Offset: p.dec.InputOffset()}, syn.Msg)
	}
	return fmt.Errorf("read %s: %w", p.file, err)
}

func (p *statusParser) start(t xml.StartElement) error {
	name := t.Name.Local
	if len(p.path) == 0 && name != "КоммерческаяИнформация" {
		return inputError(p.file,
			fmt.Sprintf("Файл %s не является документом заказов CommerceML: корневой элемент <%s> вместо <КоммерческаяИнформация>. Выгрузите заказы из 1С заново.", p.file, name),
			fmt.Errorf("root element <%s> is not <КоммерческаяИнформация>, so the file is not a CommerceML orders document", name))
	}
	p.sawRoot = true
	if name == "Документ" && p.cur == nil && p.documentParent() {
		p.cur = &OrderStatus{Requisites: make(map[string]string)}
		p.operation = ""
	}
	p.path = append(p.path, name)
	p.text.Reset()
	return nil
}

// documentParent reports whether the element about to open is a Документ
// of the package: under the root or under a Контейнер of the root.
func (p *statusParser) documentParent() bool {
	switch len(p.path) {
	case 1:
		return true
	case 2:
		return p.path[1] == "Контейнер"
	}
	return false
}

// field returns the name of the open element relative to the current
// Документ ("Ид", "ЗначенияРеквизитов/ЗначениеРеквизита/Значение"), or ""
// outside a document.
func (p *statusParser) field() string {
	for i, name := range p.path {
		if name == "Документ" && p.cur != nil {
			return strings.Join(p.path[i+1:], "/")
		}
	}
	return ""
}

func (p *statusParser) end(name string) error {
	value := strings.TrimSpace(p.text.String())
	p.text.Reset()
	field := p.field()
	p.path = p.path[:len(p.path)-1]
	if p.cur == nil {
		return nil
	}

	switch field {
	case "":
		// The Документ itself closed.
		return p.finishDocument()
	case "Ид":
		p.cur.ID = value
	case "Номер":
		p.cur.Number = value
	case "Номер1С":
		p.cur.Number1C = value
	case "ХозОперация":
		p.operation = value
	case "ПометкаУдаления":
		flag, err := p.flag(name, value)
		if err != nil {
			return err
		}
		p.cur.Deleted = flag
	case "ЗначенияРеквизитов/ЗначениеРеквизита/Наименование":
		p.reqName = value
	case "ЗначенияРеквизитов/ЗначениеРеквизита/Значение":
		p.reqValue = value
	case "ЗначенияРеквизитов/ЗначениеРеквизита":
		err := p.requisite(p.reqName, p.reqValue)
		p.reqName, p.reqValue = "", ""
		return err
	}
	return nil
}

func (p *statusParser) finishDocument() error {
	st := p.cur
	p.cur = nil
	if p.operation != "" && !strings.EqualFold(p.operation, orderOperation) {
		return nil
	}
	if st.ID == "" {
		return missingIDError(p.file, p.pos(), "Документ")
	}
	p.out = append(p.out, *st)
	return nil
}

func (p *statusParser) requisite(name, value string) error {
	if name == "" {
		return nil
	}
	st := p.cur
	st.Requisites[name] = value

	var err error
	switch name {
	case "Статус заказа":
		st.Status = value
	case "Статуса заказа ИД":
		st.StatusID = value
	case "Проведен":
		st.Posted, err = p.flag(name, value)
	case "Отменен":
		st.Cancelled, err = p.flag(name, value)
	case "Финальный статус":
		st.Final, err = p.flag(name, value)
	case "Заказ оплачен":
		st.Paid, err = p.flag(name, value)
	case "Доставка разрешена":
		st.Delivery, err = p.flag(name, value)
	case "Отгружен":
		st.Shipped, err = p.flag(name, value)
	case "Дата оплаты по 1С", "Дата оплаты":
		st.PaidAt, err = p.time(name, value)
	case "Дата отгрузки по 1С":
		st.ShippedAt, err = p.time(name, value)
	case "Дата изменения статуса":
		st.StatusChangedAt, err = p.time(name, value)
	case "Номер оплаты по 1С", "Номер платежного документа":
		st.PaymentNumber = value
	case "Номер отгрузки по 1С":
		st.ShipmentNumber = value
	}
	return err
}

// flag reads a 1C boolean; an empty value means not given.
func (p *statusParser) flag(name, value string) (*bool, error) {
	switch strings.ToLower(value) {
	case "":
		return nil, nil
	case "true", "1", "да":
		v := true
		return &v, nil
	case "false", "0", "нет":
		v := false
		return &v, nil
	}
	return nil, p.valueError(name, value, errors.New("expected true or false"))
}

// orderTimeLayouts are the date forms seen in order documents from 1C and
// 1C-Bitrix: "2007-10-16 15:44:47" (the official to.xml),
// "2017-08-04T12:22:01" (CML 3.1 documents.xml) and "11.02.2021 18:45:21".
var orderTimeLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"02.01.2006 15:04:05",
	time.DateOnly,
}

// time reads a date requisite; an empty value, or 1C's empty date
// "0001-01-01T00:00:00", means not given.
func (p *statusParser) time(name, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	for _, layout := range orderTimeLayouts {
		if t, err := time.ParseInLocation(layout, value, p.loc); err == nil {
			if t.Year() <= 1 {
				return time.Time{}, nil
			}
			return t, nil
		}
	}
	return time.Time{}, p.valueError(name, value, errors.New("expected a date such as 2024-03-01T10:00:00"))
}

func (p *statusParser) valueError(name, value string, cause error) error {
	pos := p.pos()
	owner := p.cur.ID
	if owner == "" {
		owner = "(Ид ещё не прочитан)"
	}
	return inputError(p.file,
		fmt.Sprintf("Файл %s, строка %d: у заказа %s реквизит «%s» имеет недопустимое значение «%s». Исправьте значение в 1С и выгрузите заказы заново.", p.file, pos.Line, owner, name, value),
		fmt.Errorf("invalid value %q of requisite %q in order %q at %s: %w", value, name, owner, pos, cause))
}
