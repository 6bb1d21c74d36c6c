package vendorspec

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// repairOzon rewrites the Ozon Seller API description (info.version 2.1,
// newest news entry 15 Aug 2025) into a document that a strict OpenAPI 3.0
// loader accepts. It fixes these defects of the file:
//
//   - info.version is the number 2.1, not a string;
//   - several schema properties carry Swagger 2 style "required": true;
//   - one $ref points outside the document (../../components/schemas/rpcStatus.yaml),
//     which is replaced by the local schema of the same name;
//   - the stock item of POST /v2/products/stocks lists product_id and
//     quant_size as required, while the method's own description states to
//     send either offer_id or product_id and that quant_size was switched
//     off on 26 June 2025. The repaired item requires stock and
//     warehouse_id only.
func repairOzon(raw []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}

	if info, ok := doc["info"].(map[string]any); ok {
		if v, isString := info["version"].(string); !isString {
			info["version"] = fmt.Sprint(info["version"])
		} else {
			info["version"] = v
		}
	}

	schemas := map[string]any{}
	if components, ok := doc["components"].(map[string]any); ok {
		if s, ok := components["schemas"].(map[string]any); ok {
			schemas = s
		}
	}
	repairNode(doc, schemas)

	stockItem, ok := schemas["productv2ProductsStocksRequestStock"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema productv2ProductsStocksRequestStock not found")
	}
	stockItem["required"] = []any{"stock", "warehouse_id"}

	return json.Marshal(doc)
}

// repairNode walks the JSON tree, drops boolean "required" keys of schemas and points
// external $refs at the local component schema with the same base name
// (or at an empty schema when there is none).
func repairNode(node any, schemas map[string]any) {
	switch n := node.(type) {
	case map[string]any:
		// Parameters ("in") and request bodies ("content") take a boolean
		// "required"; in a schema it must be a list of names.
		_, isParameter := n["in"]
		_, isBody := n["content"]
		if _, isBool := n["required"].(bool); isBool && !isParameter && !isBody {
			delete(n, "required")
		}
		if ref, ok := n["$ref"].(string); ok && !strings.HasPrefix(ref, "#") {
			name := strings.TrimSuffix(path.Base(ref), path.Ext(ref))
			if _, found := schemas[name]; found {
				n["$ref"] = "#/components/schemas/" + name
			} else {
				delete(n, "$ref")
			}
		}
		for _, child := range n {
			repairNode(child, schemas)
		}
	case []any:
		for _, child := range n {
			repairNode(child, schemas)
		}
	}
}
