package commerceml

// elem identifies a CommerceML element by its local name. Elements the
// parser does not use map to elOther.
type elem uint8

const (
	elOther elem = iota

	// Containers: their text is never used.
	elRoot       // КоммерческаяИнформация
	elClassifier // Классификатор
	elCatalog    // Каталог
	elPackage    // ПакетПредложений, ИзмененияПакетаПредложений
	elDocument   // Документ
	elContainer  // Контейнер (3.x wrapper of Документ)
	elProducts   // Товары
	elProduct    // Товар
	elOffers     // Предложения
	elOffer      // Предложение
	elWarehouses // Склады
	elWarehouse  // Склад
	elPriceTypes // ТипыЦен
	elPriceType  // ТипЦены
	elPrices     // Цены
	elPrice      // Цена
	elRests      // Остатки
	elRest       // Остаток

	// Leaves: the parser collects their text. Keep elID first.
	elID               // Ид
	elName             // Наименование
	elCatalogID        // ИдКаталога
	elClassifierID     // ИдКлассификатора
	elChangesOnly      // СодержитТолькоИзменения
	elSchemaVersion    // ВерсияСхемы
	elGenerated        // ДатаФормирования
	elArticle          // Артикул
	elBarcode          // Штрихкод
	elDeletionMark     // ПометкаУдаления
	elStatus           // Статус
	elCharacteristicID // ИдХарактеристики
	elQuantity         // Количество
	elPriceTypeID      // ИдТипаЦены
	elUnitPrice        // ЦенаЗаЕдиницу
	elCurrency         // Валюта
	elUnit             // Единица
)

// isLeaf reports whether the parser collects the text of e.
func (e elem) isLeaf() bool { return e >= elID }

// lookupElem maps a local element name to its elem. The switch on
// string(name) compiles to a comparison without allocating.
func lookupElem(name []byte) elem {
	switch string(name) {
	case "КоммерческаяИнформация":
		return elRoot
	case "Классификатор":
		return elClassifier
	case "Каталог":
		return elCatalog
	case "ПакетПредложений", "ИзмененияПакетаПредложений":
		return elPackage
	case "Документ":
		return elDocument
	case "Контейнер":
		return elContainer
	case "Товары":
		return elProducts
	case "Товар":
		return elProduct
	case "Предложения":
		return elOffers
	case "Предложение":
		return elOffer
	case "Склады":
		return elWarehouses
	case "Склад":
		return elWarehouse
	case "ТипыЦен":
		return elPriceTypes
	case "ТипЦены":
		return elPriceType
	case "Цены":
		return elPrices
	case "Цена":
		return elPrice
	case "Остатки":
		return elRests
	case "Остаток":
		return elRest
	case "Ид":
		return elID
	case "Наименование":
		return elName
	case "ИдКаталога":
		return elCatalogID
	case "ИдКлассификатора":
		return elClassifierID
	case "СодержитТолькоИзменения":
		return elChangesOnly
	case "ВерсияСхемы":
		return elSchemaVersion
	case "ДатаФормирования":
		return elGenerated
	case "Артикул":
		return elArticle
	case "Штрихкод":
		return elBarcode
	case "ПометкаУдаления":
		return elDeletionMark
	case "Статус":
		return elStatus
	case "ИдХарактеристики":
		return elCharacteristicID
	case "Количество":
		return elQuantity
	case "ИдТипаЦены":
		return elPriceTypeID
	case "ЦенаЗаЕдиницу":
		return elUnitPrice
	case "Валюта":
		return elCurrency
	case "Единица":
		return elUnit
	}
	return elOther
}
