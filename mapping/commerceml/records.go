package commerceml

import (
	"strings"

	"obmenhub/hub/model"
)

// openRoot checks the root element and reads its ВерсияСхемы and
// ДатаФормирования attributes.
func (p *parser) openRoot(id elem, qname, attrs []byte) error {
	if id != elRoot {
		if string(localName(qname)) == "schema" {
			return schemaFileError(p.file)
		}
		return foreignRootError(p.file, string(qname))
	}
	return p.eachAttribute(attrs, func(a attribute) error {
		switch string(a.Name) {
		case "ВерсияСхемы":
			p.doc.SchemaVersion = string(a.Value)
		case "ДатаФормирования":
			return p.setGenerated(a.Value)
		}
		return nil
	})
}

// open handles the start of every element below the root.
func (p *parser) open(id elem, attrs []byte) error {
	parent := p.parent(1)
	switch id {
	case elClassifier, elCatalog, elPackage:
		if parent != elRoot {
			return nil
		}
		switch id {
		case elClassifier:
			p.sawClassifier = true
			return nil
		case elCatalog:
			p.sawCatalog = true
		case elPackage:
			p.sawOffers = true
		}
		return p.eachAttribute(attrs, func(a attribute) error {
			if string(a.Name) == "СодержитТолькоИзменения" {
				p.doc.ChangesOnly = parseBool(a.Value)
			}
			return nil
		})

	case elDocument, elContainer:
		if parent == elRoot {
			return documentsError(p.file, string(localName(p.names[p.nameStart():])))
		}

	case elProduct:
		if parent == elProducts && p.parent(2) == elCatalog {
			p.resetProduct()
			return p.readStatusAttribute(attrs, &p.product.Deleted)
		}

	case elOffer:
		if parent == elOffers && p.parent(2) == elPackage {
			p.resetOffer()
			return p.readStatusAttribute(attrs, &p.offer.Deleted)
		}

	case elWarehouse:
		switch {
		case parent == elWarehouses && p.parent(2) != elOffer:
			p.doc.Warehouses = append(p.doc.Warehouses, model.Warehouse{})
		case parent == elOffer:
			return p.readStockAttributes(attrs)
		case parent == elRest:
			p.offer.Stocks = append(p.offer.Stocks, model.Stock{})
			p.stockQtySet = false
		}

	case elWarehouses:
		// ИзмененияПакетаПредложений writes stock as attributes of Склады.
		if parent == elOffer {
			return p.readStockAttributes(attrs)
		}

	case elPriceType:
		if parent == elPriceTypes {
			p.doc.PriceTypes = append(p.doc.PriceTypes, model.PriceType{})
		}

	case elPrice:
		if parent == elPrices && p.parent(2) == elOffer {
			p.offer.Prices = append(p.offer.Prices, model.Price{})
			p.priceValSet = false
		}
	}
	return nil
}

// closeElem handles the end of the innermost open element, whose text, if
// it is a leaf, is in p.text.
func (p *parser) closeElem() error {
	id := p.parent(0)
	parent := p.parent(1)
	if id.isLeaf() {
		return p.closeLeaf(id, parent, trimSpace(p.text))
	}
	switch id {
	case elProduct:
		if parent == elProducts && p.parent(2) == elCatalog {
			return p.sendProduct()
		}
	case elOffer:
		if parent == elOffers && p.parent(2) == elPackage {
			return p.sendOffer()
		}
	case elWarehouse:
		if parent == elRest {
			// Drop a stock entry without a warehouse id or quantity.
			last := len(p.offer.Stocks) - 1
			if last >= 0 && (!p.stockQtySet || p.offer.Stocks[last].Warehouse == "") {
				p.offer.Stocks = p.offer.Stocks[:last]
			}
		}
	case elPrice:
		if parent == elPrices && p.parent(2) == elOffer && !p.priceValSet {
			// A Цена without ЦенаЗаЕдиницу gives no price.
			p.offer.Prices = p.offer.Prices[:len(p.offer.Prices)-1]
		}
	}
	return nil
}

func (p *parser) closeLeaf(id, parent elem, v []byte) error {
	grand := p.parent(2)
	switch id {
	case elID:
		switch parent {
		case elProduct:
			p.product.ID = string(v)
		case elOffer:
			p.offerID = string(v)
		case elWarehouse:
			if grand == elWarehouses {
				p.lastWarehouse().ID = p.intern(v)
			} else if grand == elRest {
				p.lastStock().Warehouse = p.intern(v)
			}
		case elPriceType:
			if grand == elPriceTypes {
				p.lastPriceType().ID = p.intern(v)
			}
		case elClassifier:
			if grand == elRoot {
				p.doc.ClassifierID = string(v)
			}
		case elCatalog:
			if grand == elRoot {
				p.doc.CatalogID = string(v)
			}
		case elPackage:
			if grand == elRoot {
				p.doc.PackageID = string(v)
			}
		}

	case elName:
		switch parent {
		case elProduct:
			p.product.Name = string(v)
		case elOffer:
			p.offer.Name = string(v)
		case elWarehouse:
			if grand == elWarehouses {
				p.lastWarehouse().Name = string(v)
			}
		case elPriceType:
			if grand == elPriceTypes {
				p.lastPriceType().Name = string(v)
			}
		}

	case elCatalogID:
		if parent == elPackage {
			p.doc.CatalogID = string(v)
		}
	case elClassifierID:
		if parent == elPackage || parent == elCatalog {
			p.doc.ClassifierID = string(v)
		}
	case elChangesOnly:
		if parent == elPackage || parent == elCatalog {
			p.doc.ChangesOnly = parseBool(v)
		}
	case elSchemaVersion:
		if parent == elRoot && p.doc.SchemaVersion == "" {
			p.doc.SchemaVersion = string(v)
		}
	case elGenerated:
		if (parent == elRoot || parent == elPackage || parent == elCatalog) && p.doc.Generated.IsZero() {
			return p.setGenerated(v)
		}

	case elArticle:
		switch parent {
		case elProduct:
			p.product.Article = string(v)
		case elOffer:
			p.offer.Article = string(v)
		}
	case elBarcode:
		switch parent {
		case elProduct:
			if len(v) > 0 {
				p.product.Barcodes = append(p.product.Barcodes, string(v))
			}
		case elOffer:
			if p.offer.Barcode == "" {
				p.offer.Barcode = string(v)
			}
		}
	case elDeletionMark:
		switch parent {
		case elProduct:
			p.product.Deleted = p.product.Deleted || parseBool(v)
		case elOffer:
			p.offer.Deleted = p.offer.Deleted || parseBool(v)
		}
	case elStatus:
		switch parent {
		case elProduct:
			p.product.Deleted = p.product.Deleted || isDeletedStatus(v)
		case elOffer:
			p.offer.Deleted = p.offer.Deleted || isDeletedStatus(v)
		}
	case elCharacteristicID:
		if parent == elOffer {
			p.characteristic = string(v)
		}

	case elQuantity:
		switch {
		case parent == elOffer, parent == elRest && grand == elRests:
			q, err := p.decimal("Количество", v)
			if err != nil {
				return err
			}
			p.quantity = q
			p.offer.Quantity = &p.quantity
		case parent == elWarehouse && grand == elRest:
			q, err := p.decimal("Количество", v)
			if err != nil {
				return err
			}
			p.lastStock().Quantity = q
			p.stockQtySet = true
		}

	case elPriceTypeID, elUnitPrice, elCurrency, elUnit:
		return p.closePriceLeaf(id, parent, grand, v)
	}
	return nil
}

func (p *parser) closePriceLeaf(id, parent, grand elem, v []byte) error {
	if parent == elPriceType && grand == elPriceTypes && id == elCurrency {
		p.lastPriceType().Currency = p.intern(v)
		return nil
	}
	if parent != elPrice || grand != elPrices || p.parent(3) != elOffer {
		return nil
	}
	if len(p.offer.Prices) == 0 {
		return nil
	}
	price := &p.offer.Prices[len(p.offer.Prices)-1]
	switch id {
	case elPriceTypeID:
		price.PriceType = p.intern(v)
	case elUnitPrice:
		d, err := p.decimal("ЦенаЗаЕдиницу", v)
		if err != nil {
			return err
		}
		price.Value = d
		p.priceValSet = true
	case elCurrency:
		price.Currency = p.intern(v)
	case elUnit:
		price.Unit = p.intern(v)
	}
	return nil
}

// readStockAttributes reads the stock form <Склад ИдСклада=".."
// КоличествоНаСкладе=".."/>. An element without either attribute adds
// no stock.
func (p *parser) readStockAttributes(attrs []byte) error {
	var warehouse string
	var quantity model.Decimal
	hasQuantity := false
	err := p.eachAttribute(attrs, func(a attribute) error {
		var err error
		switch string(a.Name) {
		case "ИдСклада":
			warehouse = p.intern(a.Value)
		case "КоличествоНаСкладе":
			quantity, err = p.decimal("КоличествоНаСкладе", a.Value)
			hasQuantity = true
		}
		return err
	})
	if err != nil || warehouse == "" || !hasQuantity {
		return err
	}
	p.offer.Stocks = append(p.offer.Stocks, model.Stock{Warehouse: warehouse, Quantity: quantity})
	return nil
}

// readStatusAttribute reads the attribute form Статус="Удален" that the
// 2.04–2.10 schemas allow on Товар and Предложение.
func (p *parser) readStatusAttribute(attrs []byte, deleted *bool) error {
	return p.eachAttribute(attrs, func(a attribute) error {
		if string(a.Name) == "Статус" && isDeletedStatus(a.Value) {
			*deleted = true
		}
		return nil
	})
}

// eachAttribute calls fn with every attribute of a start tag. The value is
// unescaped into p.text, which the next attribute overwrites, so fn must
// copy what it keeps.
func (p *parser) eachAttribute(attrs []byte, fn func(attribute) error) error {
	for {
		a, rest, ok, err := nextAttribute(attrs)
		if err != nil {
			return syntaxError(p.file, p.pos(), err.Error())
		}
		if !ok {
			return nil
		}
		attrs = rest
		if len(a.Name) == 0 || strings.HasPrefix(string(a.Name), "xmlns") {
			continue
		}
		if p.text, err = appendUnescaped(p.text[:0], a.Value); err != nil {
			return syntaxError(p.file, p.pos(), err.Error())
		}
		a.Value = trimSpace(p.text)
		if err := fn(a); err != nil {
			return err
		}
	}
}

func (p *parser) setGenerated(v []byte) error {
	t, err := parseDateTime(string(trimSpace(v)), p.loc)
	if err != nil {
		return dateError(p.file, p.pos(), string(v), err)
	}
	p.doc.Generated = t
	return nil
}

func (p *parser) decimal(element string, v []byte) (model.Decimal, error) {
	d, err := model.ParseDecimal(string(v))
	if err != nil {
		return d, valueError(p.file, p.pos(), element, "offer", p.offerID, string(v), err)
	}
	return d, nil
}

func (p *parser) nameStart() int {
	if len(p.nameEnds) > 1 {
		return p.nameEnds[len(p.nameEnds)-2]
	}
	return 0
}

// lastWarehouse, lastPriceType and lastStock return the entry that the
// innermost open element fills. In a file that nests these elements in
// unexpected places the entry may not exist, and then they return a
// scratch value, so that the text is dropped instead of causing a panic.
func (p *parser) lastWarehouse() *model.Warehouse {
	if len(p.doc.Warehouses) == 0 {
		return &model.Warehouse{}
	}
	return &p.doc.Warehouses[len(p.doc.Warehouses)-1]
}

func (p *parser) lastPriceType() *model.PriceType {
	if len(p.doc.PriceTypes) == 0 {
		return &model.PriceType{}
	}
	return &p.doc.PriceTypes[len(p.doc.PriceTypes)-1]
}

func (p *parser) lastStock() *model.Stock {
	if len(p.offer.Stocks) == 0 {
		return &model.Stock{}
	}
	return &p.offer.Stocks[len(p.offer.Stocks)-1]
}

func (p *parser) resetProduct() {
	p.product = model.Product{Barcodes: p.product.Barcodes[:0], CatalogID: p.doc.CatalogID}
}

func (p *parser) resetOffer() {
	p.offer = model.Offer{Stocks: p.offer.Stocks[:0], Prices: p.offer.Prices[:0]}
	p.offerID, p.characteristic = "", ""
}

func (p *parser) sendProduct() error {
	if p.product.ID == "" {
		return missingIDError(p.file, p.pos(), "Товар")
	}
	if !p.docSent {
		if err := p.sendDocument(model.KindCatalog); err != nil {
			return err
		}
	}
	return p.h.Product(&p.product)
}

func (p *parser) sendOffer() error {
	if p.offerID == "" {
		return missingIDError(p.file, p.pos(), "Предложение")
	}
	p.offer.SKU, p.offer.ProductID, p.offer.CharacteristicID = splitOfferID(p.offerID, p.characteristic)
	if !p.docSent {
		if err := p.sendDocument(offersKind(&p.offer)); err != nil {
			return err
		}
	}
	return p.h.Offer(&p.offer)
}

// offersKind classifies an offers package by its first offer: only prices
// make a prices package, only stock (in any of its forms) a rests package.
func offersKind(o *model.Offer) model.DocumentKind {
	hasPrices, hasStock := len(o.Prices) > 0, o.HasStock()
	switch {
	case hasPrices && !hasStock:
		return model.KindPrices
	case hasStock && !hasPrices:
		return model.KindRests
	}
	return model.KindOffers
}

func (p *parser) sendDocument(kind model.DocumentKind) error {
	p.doc.File = p.file
	p.doc.Kind = kind
	p.docSent = true
	return p.h.Document(&p.doc)
}

// splitOfferID maps a 1C offer id to the canonical SKU: "product" and
// "product#" give SKU "product", "product#characteristic" is kept whole. An
// offer without '#' may name its characteristic in ИдХарактеристики
// (ИзмененияПакетаПредложений), which then joins the SKU the same way.
func splitOfferID(id, characteristic string) (sku, product, char string) {
	product, char, found := strings.Cut(id, "#")
	if !found && characteristic != "" {
		char = characteristic
	}
	if char == "" {
		return product, product, ""
	}
	if !found {
		return product + "#" + char, product, char
	}
	return id, product, char
}
