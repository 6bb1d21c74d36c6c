package ozon

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"obmenhub/adapters"
	"obmenhub/retry"
)

// Per-item error codes of POST /v2/products/stocks, from the "Errors"
// section of the Ozon Seller API spec.
var (
	// pairRuleCodes mean the pair was updated less than 30 s ago.
	pairRuleCodes = map[string]bool{
		"TOO_MANY_REQUESTS":               true,
		"Stock is updated too frequently": true,
	}
	// laterCodes mean the product is not ready yet and may be later:
	// moderation, price or size tags still being processed.
	laterCodes = map[string]bool{
		"product_is_not_created":          true,
		"PRICE_IS_NOT_SENT":               true,
		"PRODUCT_HAS_NOT_BEEN_TAGGED_YET": true,
	}
	// permanentCodes need a change of data or settings by the seller.
	permanentCodes = map[string]bool{
		"offer_id_not_found":                          true,
		"NOT_FOUND_ERROR":                             true,
		"WAREHOUSE_NOT_FOUND":                         true,
		"SOURCE_TYPE_NOT_FOUND":                       true,
		"STOCK_TOO_BIG":                               true,
		"NON_KGT_ON_KGT_WAREHOUSE":                    true,
		"FLAMMABLE_ONLY_ON_SELF_OR_PROVIDER_DELIVERY": true,
		"FLAMMABLE_ON_NON_KGT_WAREHOUSE":              true,
		"MP_DELIVERY_ONLY_3PL_ERROR":                  true,
		"MULTIBOX_NOT_ALLOWED_FOR_FBS":                true,
		"OVER_MAX_OVH_NON_KGT":                        true,
		"OVER_MAX_OVH_KGT":                            true,
		"SIZE_REQUIRED_FOR_NOT_UNIQUE_OFFER_ID":       true,
		"CB_DELIVERY_ONLY_FBP":                        true,
	}
)

// ItemError is one error that Ozon reported for an item.
type ItemError struct {
	OfferID string
	Code    string
	Message string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("ozon rejected offer_id %q: %s: %s", e.OfferID, e.Code, e.Message)
}

// itemOutcome returns nil for an updated item and a classified error
// otherwise. With several errors the item takes the class that asks for
// the least retrying: permanent, then deferred, then retriable.
func (a *Adapter) itemOutcome(item adapters.StockItem, r itemResult, now time.Time) error {
	if r.Updated {
		return nil
	}
	if len(r.Errors) == 0 {
		return retry.Retriable(fmt.Errorf("ozon: offer_id %q (SKU %s) not updated and no error given", item.ExternalID, item.SKU))
	}

	var permanent, deferred, retriable []error
	for _, e := range r.Errors {
		itemErr := &ItemError{OfferID: item.ExternalID, Code: e.Code, Message: e.Message}
		switch {
		case pairRuleCodes[e.Code]:
			deferred = append(deferred, itemErr)
		case permanentCodes[e.Code] || strings.HasPrefix(e.Code, "Request validation error"):
			permanent = append(permanent, itemErr)
		case laterCodes[e.Code]:
			retriable = append(retriable, itemErr)
		default:
			retriable = append(retriable, itemErr)
		}
	}

	switch {
	case len(permanent) > 0:
		return retry.Permanent(errors.Join(permanent...))
	case len(deferred) > 0:
		// Ozon does not say when the pair was last updated, so wait a
		// whole interval from now.
		a.mu.Lock()
		a.lastSent[item.ExternalID] = now
		a.mu.Unlock()
		return &retry.DeferredError{Until: now.Add(a.cfg.PairInterval), Err: errors.Join(deferred...)}
	default:
		return retry.Retriable(errors.Join(retriable...))
	}
}
