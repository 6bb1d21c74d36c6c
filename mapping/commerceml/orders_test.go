package commerceml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/model"
)

// sampleOrders covers a characteristic SKU, a quantity above one, text that
// needs XML escaping and a character outside windows-1251.
func sampleOrders() []Order {
	msk := time.FixedZone("MSK", 3*60*60)
	return []Order{
		{
			Channel:       "ozon",
			ID:            "ozon-100500",
			Number:        "OZ-100500",
			Date:          time.Date(2025, 3, 1, 9, 5, 7, 0, msk),
			Currency:      "руб",
			Status:        "[N] Принят",
			Customer:      "Иванов Иван",
			PaymentMethod: "Банковской картой онлайн",
			Lines: []OrderLine{
				{SKU: "bd72d913-55bc-11d9-848a-00112f43529a#b02e2814-720f-11df-b436-0015e92f2802", Name: "Ботинки женские (35, Бежевый)", Qty: 2, Price: model.MustDecimal("1788.96")},
				{SKU: "cbcf493f-55bc-11d9-848a-00112f43529a", Name: `Чай "Липтон" & <сахар>`, Qty: 1, Price: model.MustDecimal("295.8")},
			},
		},
		{
			Channel:  "wb",
			ID:       "wb-7",
			Date:     time.Date(2025, 3, 1, 23, 30, 0, 0, time.UTC), // 02:30 on 2 March in Moscow
			Currency: "RUB",
			Lines: []OrderLine{
				{SKU: "dee6e19a-55bc-11d9-848a-00112f43529a", Name: "Кружка 茶 €", Qty: 3, Price: model.MustDecimal("100")},
			},
		},
	}
}

func sampleOptions(encodingName string) WriteOptions {
	return WriteOptions{
		Encoding:  encodingName,
		Generated: time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC),
	}
}

func TestWriteOrdersGolden(t *testing.T) {
	tests := []struct {
		encoding, golden, contentType string
	}{
		{"UTF-8", "orders-utf8.xml", "application/xml; charset=UTF-8"},
		{"windows-1251", "orders-cp1251.xml", "application/xml; charset=windows-1251"},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			var buf bytes.Buffer
			ct, err := WriteOrders(&buf, sampleOrders(), sampleOptions(tt.encoding))
			if err != nil {
				t.Fatalf("WriteOrders: %v", err)
			}
			if ct != tt.contentType {
				t.Errorf("content type = %q, want %q", ct, tt.contentType)
			}

			path := filepath.Join("testdata", "orders", tt.golden)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, buf.String())
			}
		})
	}
}

// Structures for decoding the written document with encoding/xml, which
// shares no code with this package's writer.
type xmlOrders struct {
	XMLName    xml.Name      `xml:"КоммерческаяИнформация"`
	Version    string        `xml:"ВерсияСхемы,attr"`
	Generated  string        `xml:"ДатаФормирования,attr"`
	Documents  []xmlDocument `xml:"Документ"`
	Containers []struct {
		Documents []xmlDocument `xml:"Документ"`
	} `xml:"Контейнер"`
}

type xmlDocument struct {
	ID         string         `xml:"Ид"`
	Number     string         `xml:"Номер"`
	Date       string         `xml:"Дата"`
	Time       string         `xml:"Время"`
	Operation  string         `xml:"ХозОперация"`
	Role       string         `xml:"Роль"`
	Currency   string         `xml:"Валюта"`
	Rate       string         `xml:"Курс"`
	Sum        string         `xml:"Сумма"`
	BuyerID    string         `xml:"Контрагенты>Контрагент>Ид"`
	BuyerName  string         `xml:"Контрагенты>Контрагент>Наименование"`
	BuyerRole  string         `xml:"Контрагенты>Контрагент>Роль"`
	Lines      []xmlLine      `xml:"Товары>Товар"`
	Requisites []xmlRequisite `xml:"ЗначенияРеквизитов>ЗначениеРеквизита"`
}

type xmlLine struct {
	ID    string  `xml:"Ид"`
	Name  string  `xml:"Наименование"`
	Unit  xmlUnit `xml:"БазоваяЕдиница"`
	Price string  `xml:"ЦенаЗаЕдиницу"`
	Qty   string  `xml:"Количество"`
	Sum   string  `xml:"Сумма"`
}

type xmlUnit struct {
	Code string `xml:"Код,attr"`
	Name string `xml:",chardata"`
}

type xmlRequisite struct {
	Name  string `xml:"Наименование"`
	Value string `xml:"Значение"`
}

// decodeOrders decodes data with encoding/xml, converting windows-1251 with
// golang.org/x/text, and returns the declared encoding too.
func decodeOrders(t *testing.T, data []byte) (xmlOrders, string) {
	t.Helper()
	var declared string
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		declared = label
		if !strings.EqualFold(label, "windows-1251") {
			return nil, errors.New("unexpected charset " + label)
		}
		return charmap.Windows1251.NewDecoder().Reader(in), nil
	}
	var doc xmlOrders
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode written orders: %v", err)
	}
	if declared == "" {
		declared = "UTF-8"
	}
	return doc, declared
}

func TestWriteOrdersDecodes(t *testing.T) {
	for _, enc := range []string{"UTF-8", "windows-1251"} {
		t.Run(enc, func(t *testing.T) {
			var buf bytes.Buffer
			ct, err := WriteOrders(&buf, sampleOrders(), sampleOptions(enc))
			if err != nil {
				t.Fatalf("WriteOrders: %v", err)
			}
			doc, declared := decodeOrders(t, buf.Bytes())

			if declared != enc {
				t.Errorf("declared encoding = %q, want %q", declared, enc)
			}
			if !strings.HasSuffix(ct, "charset="+declared) {
				t.Errorf("content type %q does not name the declared charset %q", ct, declared)
			}
			if enc == "windows-1251" && bytes.Contains(buf.Bytes(), []byte("Документ")) {
				t.Errorf("windows-1251 output contains UTF-8 bytes")
			}
			if doc.Version != "2.05" {
				t.Errorf("ВерсияСхемы = %q, want 2.05", doc.Version)
			}
			if doc.Generated != "2025-03-02T15:00:00" {
				t.Errorf("ДатаФормирования = %q, want 2025-03-02T15:00:00 (Moscow)", doc.Generated)
			}
			if len(doc.Documents) != 2 {
				t.Fatalf("documents = %d, want 2", len(doc.Documents))
			}

			first := doc.Documents[0]
			checkField(t, "Ид", first.ID, "ozon-100500")
			checkField(t, "Номер", first.Number, "OZ-100500")
			checkField(t, "Дата", first.Date, "2025-03-01")
			checkField(t, "Время", first.Time, "09:05:07")
			checkField(t, "ХозОперация", first.Operation, "Заказ товара")
			checkField(t, "Роль", first.Role, "Продавец")
			checkField(t, "Валюта", first.Currency, "руб")
			checkField(t, "Курс", first.Rate, "1")
			// 2 × 1788.96 + 1 × 295.8 = 3873.72
			checkField(t, "Сумма", first.Sum, "3873.72")
			checkField(t, "Контрагент Ид", first.BuyerID, "ozon#Иванов Иван")
			checkField(t, "Контрагент Наименование", first.BuyerName, "Иванов Иван")
			checkField(t, "Контрагент Роль", first.BuyerRole, "Покупатель")
			if len(first.Lines) != 2 {
				t.Fatalf("lines = %d, want 2", len(first.Lines))
			}
			checkField(t, "Товар 1 Ид", first.Lines[0].ID, "bd72d913-55bc-11d9-848a-00112f43529a#b02e2814-720f-11df-b436-0015e92f2802")
			checkField(t, "Товар 1 ЦенаЗаЕдиницу", first.Lines[0].Price, "1788.96")
			checkField(t, "Товар 1 Количество", first.Lines[0].Qty, "2")
			checkField(t, "Товар 1 Сумма", first.Lines[0].Sum, "3577.92")
			checkField(t, "Товар 1 БазоваяЕдиница", first.Lines[0].Unit.Name, "шт")
			checkField(t, "Товар 1 БазоваяЕдиница Код", first.Lines[0].Unit.Code, "796")
			checkField(t, "Товар 2 Наименование", first.Lines[1].Name, `Чай "Липтон" & <сахар>`)
			checkField(t, "Товар 2 ЦенаЗаЕдиницу", first.Lines[1].Price, "295.80")
			checkField(t, "Товар 2 Сумма", first.Lines[1].Sum, "295.80")
			wantReqs := map[string]string{"Метод оплаты": "Банковской картой онлайн", "Статус заказа": "[N] Принят", "Сайт": "ozon"}
			checkRequisites(t, first.Requisites, wantReqs)

			second := doc.Documents[1]
			checkField(t, "Номер (empty means Ид)", second.Number, "wb-7")
			checkField(t, "Дата in Moscow", second.Date, "2025-03-02")
			checkField(t, "Время in Moscow", second.Time, "02:30:00")
			checkField(t, "Сумма", second.Sum, "300.00")
			checkField(t, "anonymous Контрагент Наименование", second.BuyerName, "Покупатель wb")
			checkField(t, "Товар Наименование outside windows-1251", second.Lines[0].Name, "Кружка 茶 €")
			checkRequisites(t, second.Requisites, map[string]string{"Сайт": "wb"})
		})
	}
}

func checkField(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func checkRequisites(t *testing.T, got []xmlRequisite, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("requisites = %v, want %v", got, want)
	}
	for _, r := range got {
		if w, ok := want[r.Name]; !ok || w != r.Value {
			t.Errorf("requisite %q = %q, want %q (present: %v)", r.Name, r.Value, w, ok)
		}
	}
}

func TestWriteOrdersSchema3Container(t *testing.T) {
	var buf bytes.Buffer
	opt := sampleOptions("UTF-8")
	opt.SchemaVersion = "3.1"
	if _, err := WriteOrders(&buf, sampleOrders(), opt); err != nil {
		t.Fatalf("WriteOrders: %v", err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`xmlns="urn:1C.ru:commerceml_3"`)) {
		t.Errorf("3.1 output lacks the commerceml_3 namespace")
	}
	doc, _ := decodeOrders(t, buf.Bytes())
	if len(doc.Documents) != 0 {
		t.Errorf("documents under the root = %d, want 0", len(doc.Documents))
	}
	if len(doc.Containers) != 2 {
		t.Fatalf("Контейнер elements = %d, want 2", len(doc.Containers))
	}
	if got := doc.Containers[1].Documents[0].ID; got != "wb-7" {
		t.Errorf("second container Ид = %q, want wb-7", got)
	}
}

func TestWriteOrdersEmptyList(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteOrders(&buf, nil, sampleOptions("windows-1251")); err != nil {
		t.Fatalf("WriteOrders: %v", err)
	}
	doc, _ := decodeOrders(t, buf.Bytes())
	if len(doc.Documents) != 0 {
		t.Errorf("documents = %d, want 0", len(doc.Documents))
	}
}

func TestWriteOrdersRejectsInvalid(t *testing.T) {
	valid := sampleOrders()[1]
	tests := []struct {
		name   string
		change func(o *Order)
		want   string
	}{
		{"empty ID", func(o *Order) { o.ID = " " }, "ID is empty"},
		{"zero date", func(o *Order) { o.Date = time.Time{} }, "Date is zero"},
		{"empty currency", func(o *Order) { o.Currency = "" }, "Currency is empty"},
		{"no lines", func(o *Order) { o.Lines = nil }, "no lines"},
		{"empty SKU", func(o *Order) { o.Lines = []OrderLine{{Qty: 1, Price: model.IntDecimal(1)}} }, "SKU is empty"},
		{"zero quantity", func(o *Order) { o.Lines = []OrderLine{{SKU: "a", Qty: 0}} }, "quantity 0 is not positive"},
		{"negative price", func(o *Order) { o.Lines = []OrderLine{{SKU: "a", Qty: 1, Price: model.MustDecimal("-1")}} }, "price -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			o.Lines = append([]OrderLine(nil), valid.Lines...)
			tt.change(&o)
			var buf bytes.Buffer
			_, err := WriteOrders(&buf, []Order{o}, sampleOptions(""))
			if err == nil {
				t.Fatal("WriteOrders accepted an invalid order")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `channel "wb"`) {
				t.Errorf("error %q does not contain %q and the channel", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before rejecting", buf.Len())
			}
		})
	}
}

func TestWriteOrdersUnknownEncoding(t *testing.T) {
	_, err := WriteOrders(io.Discard, sampleOrders(), WriteOptions{Encoding: "koi8-r"})
	if err == nil || !strings.Contains(err.Error(), `"koi8-r"`) {
		t.Errorf("error = %v, want one naming koi8-r", err)
	}
}

func TestWriteOrdersRoundTrip(t *testing.T) {
	for _, enc := range []string{"UTF-8", "windows-1251"} {
		var buf bytes.Buffer
		if _, err := WriteOrders(&buf, sampleOrders(), sampleOptions(enc)); err != nil {
			t.Fatalf("WriteOrders: %v", err)
		}
		statuses, err := ParseOrderStatuses(&buf, "orders.xml")
		if err != nil {
			t.Fatalf("%s: ParseOrderStatuses: %v", enc, err)
		}
		if len(statuses) != 2 {
			t.Fatalf("%s: statuses = %d, want 2", enc, len(statuses))
		}
		checkField(t, enc+" Ид", statuses[0].ID, "ozon-100500")
		checkField(t, enc+" Номер", statuses[0].Number, "OZ-100500")
		checkField(t, enc+" Статус заказа", statuses[0].Status, "[N] Принят")
	}
}

func parseSharedStatuses(t *testing.T, name string) []OrderStatus {
	t.Helper()
	f, err := os.Open(testdata.Path(t, "commerceml", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	statuses, err := ParseOrderStatuses(f, name)
	if err != nil {
		t.Fatalf("ParseOrderStatuses(%s): %v", name, err)
	}
	return statuses
}

func checkFlag(t *testing.T, name string, got *bool, want bool) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is missing, want %v", name, want)
		return
	}
	if *got != want {
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}

func checkTime(t *testing.T, name string, got time.Time, want string) {
	t.Helper()
	if got.Format(time.RFC3339) != want {
		t.Errorf("%s = %s, want %s", name, got.Format(time.RFC3339), want)
	}
}

// The official "Заказ на сайт" example: windows-1251, CML 2.03, one order
// that 1C reports paid and delivered.
func TestParseOrderStatusesOfficialTo(t *testing.T) {
	statuses := parseSharedStatuses(t, "carono-yii2__to.xml")
	if len(statuses) != 1 {
		t.Fatalf("statuses = %d, want 1", len(statuses))
	}
	s := statuses[0]
	checkField(t, "Ид", s.ID, "20")
	checkField(t, "Номер", s.Number, "20")
	checkField(t, "Статус заказа", s.Status, "[F] Доставлен")
	checkFlag(t, "Отменен", s.Cancelled, false)
	checkFlag(t, "Финальный статус", s.Final, true)
	checkFlag(t, "Заказ оплачен", s.Paid, true)
	checkFlag(t, "Доставка разрешена", s.Delivery, true)
	if s.Posted != nil {
		t.Errorf("Проведен = %v, want missing", *s.Posted)
	}
	checkField(t, "Номер платежного документа", s.PaymentNumber, "ТК000000026")
	// Moscow kept summer time (UTC+4) in October 2007.
	checkTime(t, "Дата оплаты", s.PaidAt, "2007-10-16T15:44:47+04:00")
	checkTime(t, "Дата изменения статуса", s.StatusChangedAt, "2007-10-16T15:51:58+04:00")
	checkField(t, "Метод оплаты", s.Requisites["Метод оплаты"], "Наличный расчет")
	if n := len(s.Requisites); n != 10 {
		t.Errorf("requisites = %d, want 10 (document-level only): %v", n, s.Requisites)
	}
}

// A CML 3.1 documents.xml from the 1C-Bitrix module: 20 orders, each in a
// Контейнер, with Проведен, Отменен and Отгружен.
func TestParseOrderStatusesContainers(t *testing.T) {
	statuses := parseSharedStatuses(t, "irpsv-bxm6docs__documents.xml")
	if len(statuses) != 20 {
		t.Fatalf("statuses = %d, want 20", len(statuses))
	}
	first := statuses[0]
	checkField(t, "Ид", first.ID, "320")
	checkField(t, "Номер1С", first.Number1C, "L320")
	checkFlag(t, "ПометкаУдаления", first.Deleted, false)
	checkFlag(t, "Проведен", first.Posted, true)
	checkFlag(t, "Отменен", first.Cancelled, false)
	checkFlag(t, "Отгружен", first.Shipped, true)
	checkField(t, "Номер отгрузки по 1С", first.ShipmentNumber, "О0000000976")
	checkTime(t, "Дата отгрузки по 1С", first.ShippedAt, "2017-08-04T12:22:01+03:00")

	var withPayment []string
	for _, s := range statuses {
		if !s.PaidAt.IsZero() {
			withPayment = append(withPayment, s.ID)
		}
	}
	// grep: "Дата оплаты по 1С" occurs once in the file.
	if len(withPayment) != 1 {
		t.Errorf("orders with a payment date = %v, want exactly one", withPayment)
	}
}

// A CML 2.09 documents file: two orders with Статуса заказа ИД "P" and
// payment and shipment dates from 1C.
func TestParseOrderStatusesPaidAndShipped(t *testing.T) {
	statuses := parseSharedStatuses(t, "argentcrusade__documents-example.xml")
	if len(statuses) != 2 {
		t.Fatalf("statuses = %d, want 2", len(statuses))
	}
	first, second := statuses[0], statuses[1]
	checkField(t, "first Ид", first.ID, "142")
	checkField(t, "first Номер1С", first.Number1C, "ТДЦУ-000001")
	checkField(t, "first Статуса заказа ИД", first.StatusID, "P")
	checkFlag(t, "first Проведен", first.Posted, true)
	checkField(t, "first Номер оплаты по 1С", first.PaymentNumber, "ТДЦУ-000001")
	checkTime(t, "first Дата оплаты по 1С", first.PaidAt, "2015-06-29T15:39:10+03:00")
	checkTime(t, "first Дата отгрузки по 1С", first.ShippedAt, "2015-06-29T17:32:27+03:00")
	checkField(t, "second Ид", second.ID, "235")
	if !second.ShippedAt.IsZero() {
		t.Errorf("second Дата отгрузки по 1С = %v, want none", second.ShippedAt)
	}
}

// The query response of 1C-Bitrix: windows-1251 with whitespace before the
// XML declaration and the date form "11.02.2021 18:45:21".
func TestParseOrderStatusesBitrixQuery(t *testing.T) {
	statuses := parseSharedStatuses(t, "dobromyslov__bitrix-query-response-full.xml")
	if len(statuses) != 2 {
		t.Fatalf("statuses = %d, want 2", len(statuses))
	}
	checkField(t, "Ид", statuses[1].ID, "133")
	checkField(t, "Статус заказа", statuses[1].Status, "[N] Принят, ожидается оплата")
	checkField(t, "Статуса заказа ИД", statuses[1].StatusID, "N")
	checkTime(t, "Дата изменения статуса", statuses[1].StatusChangedAt, "2021-02-12T09:11:04+03:00")
}

func TestParseOrderStatusesSkipsOtherOperations(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.10">
<Документ><Ид>p1</Ид><ХозОперация>Выплата безналичных денег</ХозОперация></Документ>
<Документ><Ид>o1</Ид><ХозОперация>Заказ товара</ХозОперация></Документ>
<Документ><Ид>o2</Ид></Документ>
</КоммерческаяИнформация>`
	statuses, err := ParseOrderStatuses(strings.NewReader(doc), "to.xml")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range statuses {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "o1,o2" {
		t.Errorf("ids = %v, want [o1 o2]", ids)
	}
}

func TestParseOrderStatusesEmptyPackage(t *testing.T) {
	statuses, err := ParseOrderStatuses(strings.NewReader(`<КоммерческаяИнформация ВерсияСхемы="2.05"/>`), "to.xml")
	if err != nil {
		t.Fatalf("ParseOrderStatuses: %v", err)
	}
	if len(statuses) != 0 {
		t.Errorf("statuses = %d, want 0", len(statuses))
	}
}

func TestParseOrderStatusesRejects(t *testing.T) {
	tests := []struct {
		name, input     string
		wantErr, wantRu string
	}{
		{"empty file", "", "empty", "пуст"},
		{"foreign root", `<?xml version="1.0"?><html/>`, "root element <html>", "корневой элемент <html>"},
		{"malformed", `<КоммерческаяИнформация><Документ></Ид></КоммерческаяИнформация>`, "malformed XML", "повреждён"},
		{"truncated", `<КоммерческаяИнформация><Документ><Ид>1</Ид>`, "not closed", "обрывается"},
		{"missing Ид", `<КоммерческаяИнформация><Документ><Номер>5</Номер></Документ></КоммерческаяИнформация>`, "without <Ид>", "нет идентификатора"},
		{"invalid flag", `<КоммерческаяИнформация><Документ><Ид>7</Ид><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>может быть</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`, `invalid value "может быть" of requisite "Отменен" in order "7"`, "у заказа 7 реквизит «Отменен»"},
		{"invalid date", `<КоммерческаяИнформация><Документ><Ид>8</Ид><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>вчера</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`, `invalid value "вчера"`, "«Дата оплаты по 1С»"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOrderStatuses(strings.NewReader(tt.input), "to.xml")
			var inErr *model.InputError
			if !errors.As(err, &inErr) {
				t.Fatalf("error = %v, want *model.InputError", err)
			}
			if !strings.Contains(inErr.Err.Error(), tt.wantErr) {
				t.Errorf("Err = %q, want it to contain %q", inErr.Err, tt.wantErr)
			}
			if !strings.Contains(inErr.Ru, tt.wantRu) || !strings.Contains(inErr.Ru, "to.xml") {
				t.Errorf("Ru = %q, want it to contain %q and the file name", inErr.Ru, tt.wantRu)
			}
		})
	}
}

// Every prefix of a valid document, as the first chunks of an upload are,
// is reported as truncated, never as malformed, including a cut inside a
// two-byte UTF-8 letter.
func TestParseOrderStatusesTruncatedPrefixes(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.05"><Документ><Ид>Заказ-1</Ид><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`
	for cut := 0; cut < len(doc); cut++ {
		_, err := ParseOrderStatuses(strings.NewReader(doc[:cut]), "to.xml")
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("prefix of %d bytes: error = %v, want ErrTruncated", cut, err)
		}
	}
	statuses, err := ParseOrderStatuses(strings.NewReader(doc), "to.xml")
	if err != nil || len(statuses) != 1 {
		t.Fatalf("whole document: %d statuses, error %v", len(statuses), err)
	}
	checkFlag(t, "Отменен", statuses[0].Cancelled, true)
}
