package wildberries

import (
	"encoding/json"
	"errors"
	"fmt"

	"obmenhub/adapters"
	"obmenhub/retry"
)

// conflictEntry is one element of the 409 response (StocksWarehouseError in
// the spec): an error code and the items it applies to.
type conflictEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    []struct {
		SKU    string `json:"sku"`
		ChrtID int64  `json:"chrtId"`
		Amount int64  `json:"amount"`
	} `json:"data"`
}

// retriableConflictCodes are 409 codes that the spec says to retry:
// StoreIsProcessing means the warehouse is being updated or deleted, "try
// again in a few seconds". Every other code needs a change by the seller.
var retriableConflictCodes = map[string]bool{
	"StoreIsProcessing": true,
}

// ConflictError is one 409 error that Wildberries reported.
type ConflictError struct {
	Code    string
	Message string
	// ChrtID is the rejected item, or 0 when the error names no item and
	// applies to the whole request.
	ChrtID int64
}

func (e *ConflictError) Error() string {
	if e.ChrtID == 0 {
		return fmt.Sprintf("wildberries rejected the stock update: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("wildberries rejected chrtId %d: %s: %s", e.ChrtID, e.Code, e.Message)
}

func classifyConflict(e *ConflictError) error {
	if retriableConflictCodes[e.Code] {
		return retry.Retriable(e)
	}
	return retry.Permanent(e)
}

// applyConflict reads a 409 response and fills the results of the batch.
//
// Items that an entry names by chrtId get that entry's error. An entry
// without items applies to every item of the request. The spec does not
// say whether Wildberries applied the items that no entry names, so they
// get a retriable error: sending an absolute stock level again is safe.
func (a *Adapter) applyConflict(body []byte, items []adapters.StockItem, chrtIDs []int64, indexes []int, results []adapters.ItemResult) error {
	var entries []conflictEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		return retry.Retriable(fmt.Errorf("wildberries: decode 409 answer: %w (body %q)", err, truncate(body)))
	}

	byChrt := make(map[int64]int, len(indexes))
	for _, i := range indexes {
		byChrt[chrtIDs[i]] = i
	}

	itemErrs := map[int][]error{}
	var requestErrs []error
	for _, entry := range entries {
		if len(entry.Data) == 0 {
			requestErrs = append(requestErrs, classifyConflict(&ConflictError{Code: entry.Code, Message: entry.Message}))
			continue
		}
		for _, d := range entry.Data {
			i, ok := byChrt[d.ChrtID]
			if !ok {
				// NOTE: older examples in the spec name items by barcode
				// ("sku") only; this adapter sends chrtId and cannot
				// match those entries.
				continue
			}
			itemErrs[i] = append(itemErrs[i], classifyConflict(&ConflictError{Code: entry.Code, Message: entry.Message, ChrtID: d.ChrtID}))
		}
	}

	for _, i := range indexes {
		errs := append(itemErrs[i], requestErrs...)
		if len(errs) == 0 {
			errs = []error{retry.Retriable(fmt.Errorf("wildberries: chrtId %d (SKU %s) not confirmed: the 409 response rejected other items of the request", chrtIDs[i], items[i].SKU))}
		}
		// Classify finds ErrPermanent inside a join, so an item with any
		// permanent error is permanent.
		results[i].Err = errors.Join(errs...)
		a.logItemError(items[i], results[i].Err)
	}
	return nil
}

func truncate(body []byte) string {
	const limit = 256
	if len(body) <= limit {
		return string(body)
	}
	return string(body[:limit]) + "…"
}
