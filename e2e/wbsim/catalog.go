package wbsim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"

	"golang.org/x/time/rate"
)

// Limits of the content methods, from the description of
// POST /content/v2/get/cards/list in the Wildberries products spec.
const (
	// MaxCardsListLimit is the maximum of settings.cursor.limit.
	MaxCardsListLimit = 100
	// ContentRequestsPerMinute is the limit per seller account shared by
	// the methods of the Content category. It is separate from the limit
	// of the stock methods.
	ContentRequestsPerMinute = 100
	// ContentBurst is the documented burst of the same limit.
	ContentBurst = 5
)

// Card is one product card of the simulated seller account, shaped as the
// cards list returns it.
type Card struct {
	// NmID is the WB article, unique per card.
	NmID int64 `json:"nmID"`
	// ImtID groups merged cards.
	ImtID int64 `json:"imtID"`
	// VendorCode is the seller's article.
	VendorCode string `json:"vendorCode"`
	Title      string `json:"title"`
	// Photos are the card's photos. A card without photos is listed only
	// when the request's filter.withPhoto is 0 or -1.
	Photos []Photo `json:"photos"`
	Sizes  []Size  `json:"sizes"`
	// UpdatedAt orders the cards and is part of the paging cursor.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Photo is one photo of a card.
type Photo struct {
	Big string `json:"big"`
}

// Size is one size of a card.
type Size struct {
	// ChrtID is the size id that stock is sent with.
	ChrtID int64 `json:"chrtID"`
	// TechSize is the seller's size, such as "XL" or "0" for one size.
	TechSize string `json:"techSize"`
	WbSize   string `json:"wbSize"`
	// Skus are the size's barcodes.
	Skus []string `json:"skus"`
}

// CatalogStats are the counters of the cards list. Its requests are also
// counted in Stats.Requests, and rejected ones in Stats.ValidationFailures
// and Stats.AuthFailures.
type CatalogStats struct {
	// Requests is the number of POST /content/v2/get/cards/list requests.
	Requests int
	// TooManyRequests is the number of 429 responses sent by the Content
	// limit.
	TooManyRequests int
	// RateViolations is the number of requests over the Content limit,
	// whether rejected with 429 or let through (Config.ObserveRateOnly).
	RateViolations int
	// InjectedFailures is the number of responses sent by FailCatalogAfter.
	InjectedFailures int
}

// catalogState is the catalogue of one Server.
type catalogState struct {
	limiter *rate.Limiter // the Content category's limit

	mu         sync.Mutex
	cards      []Card // sorted by UpdatedAt, then NmID
	served     int    // requests that passed auth and the rate limit
	failAfter  int
	failStatus int // 0 when no failure is injected
	stats      CatalogStats
}

// catalogs maps each Server to its catalogue. The key is a weak pointer,
// and a cleanup removes the entry once the Server is garbage, so the table
// does not keep closed servers alive.
// TODO: make the catalogue a field of Server.
var catalogs sync.Map // weak.Pointer[Server] -> *catalogState

func (s *Server) catalog() *catalogState {
	key := weak.Make(s)
	if v, ok := catalogs.Load(key); ok {
		return v.(*catalogState)
	}
	fresh := &catalogState{limiter: rate.NewLimiter(rate.Limit(ContentRequestsPerMinute/60.0), ContentBurst)}
	v, loaded := catalogs.LoadOrStore(key, fresh)
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { catalogs.Delete(k) }, key)
	}
	return v.(*catalogState)
}

// SetCatalog replaces the account's cards. It returns an error when an
// nmID is not positive or appears twice.
func (s *Server) SetCatalog(cards []Card) error {
	sorted := make([]Card, len(cards))
	seen := make(map[int64]bool, len(cards))
	for i, card := range cards {
		if card.NmID <= 0 {
			return fmt.Errorf("wbsim: card with vendorCode %q has nmID %d, must be positive", card.VendorCode, card.NmID)
		}
		if seen[card.NmID] {
			return fmt.Errorf("wbsim: nmID %d appears twice in the catalogue", card.NmID)
		}
		seen[card.NmID] = true
		sorted[i] = cloneCard(card)
	}
	slices.SortFunc(sorted, compareCards)

	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cards = sorted
	return nil
}

// cloneCard copies card's slices, as empty ones where nil, because the
// response has arrays where the spec has them.
func cloneCard(card Card) Card {
	card.Photos = append([]Photo{}, card.Photos...)
	card.Sizes = append([]Size{}, card.Sizes...)
	for i := range card.Sizes {
		card.Sizes[i].Skus = append([]string{}, card.Sizes[i].Skus...)
	}
	return card
}

// compareCards orders cards by updatedAt, then nmID, ascending.
func compareCards(a, b Card) int {
	if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.NmID, b.NmID)
}

// FailCatalogAfter lets the next n authenticated cards list requests
// within the limit through and responds to every later one with status,
// until it is called again. Status 0 turns the failure off.
func (s *Server) FailCatalogAfter(n, status int) {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served = 0
	c.failAfter = n
	c.failStatus = status
}

// CatalogStats returns the counters of the cards list.
func (s *Server) CatalogStats() CatalogStats {
	c := s.catalog()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

type cardsListRequest struct {
	Settings struct {
		Sort struct {
			Ascending bool `json:"ascending"`
		} `json:"sort"`
		Filter struct {
			WithPhoto             *int     `json:"withPhoto"`
			TextSearch            string   `json:"textSearch"`
			TagIDs                []int64  `json:"tagIDs"`
			AllowedCategoriesOnly bool     `json:"allowedCategoriesOnly"`
			ObjectIDs             []int64  `json:"objectIDs"`
			Brands                []string `json:"brands"`
			ImtID                 int64    `json:"imtID"`
		} `json:"filter"`
		Cursor struct {
			Limit     *int   `json:"limit"`
			UpdatedAt string `json:"updatedAt"`
			NmID      int64  `json:"nmID"`
		} `json:"cursor"`
	} `json:"settings"`
}

type cardsListCursor struct {
	UpdatedAt string `json:"updatedAt,omitempty"`
	NmID      int64  `json:"nmID,omitempty"`
	Total     int    `json:"total"`
}

// contentError is the spec's 400 body of the content methods.
type contentError struct {
	Data             any    `json:"data"`
	Error            bool   `json:"error"`
	ErrorText        string `json:"errorText"`
	AdditionalErrors any    `json:"additionalErrors"`
}

// handleCardsList serves POST /content/v2/get/cards/list: the cards after
// the request's cursor in updatedAt order (descending unless
// sort.ascending), at most cursor.limit of them, with the cursor of the
// last card returned. The content methods have their own rate limit, so
// these requests do not count against the stock methods' limit.
func (s *Server) handleCardsList(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	c := s.catalog()
	c.mu.Lock()
	c.stats.Requests++
	c.mu.Unlock()
	now := s.cfg.Clock.Now()

	if r.Header.Get("Authorization") != s.cfg.Token {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusUnauthorized, "application/problem+json", s.problem(http.StatusUnauthorized, "unauthorized", "token problem; token is invalid", now))
		return
	}
	if !s.admitContentRate(w, c, now) {
		return
	}
	if status, fail := c.takeFailure(); fail {
		writeJSON(w, status, "application/json", contentError{Error: true, ErrorText: "injected failure: " + http.StatusText(status)})
		return
	}

	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.count(func(st *Stats) { st.AbortedRequests++ })
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err := s.validate(r); err != nil {
		s.rejectCardsList(w, "request rejected by spec", err.Error())
		return
	}

	var req cardsListRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		s.rejectCardsList(w, "invalid JSON body", err.Error())
		return
	}
	page, err := c.selectCards(&req)
	if err != nil {
		s.rejectCardsList(w, "request not simulated or invalid", err.Error())
		return
	}

	cursor := cardsListCursor{Total: len(page)}
	if len(page) > 0 {
		last := page[len(page)-1]
		cursor.UpdatedAt = last.UpdatedAt.UTC().Format(time.RFC3339Nano)
		cursor.NmID = last.NmID
	}
	w.Header().Set("X-Ratelimit-Remaining", strconv.Itoa(max(0, int(c.limiter.TokensAt(now)))))
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"cards": page, "cursor": cursor})
}

func (s *Server) rejectCardsList(w http.ResponseWriter, reason, detail string) {
	s.count(func(st *Stats) { st.ValidationFailures++ })
	s.cfg.Logger.Warn("wbsim: cards list rejected", slog.String("reason", reason), slog.String("error", detail))
	writeJSON(w, http.StatusBadRequest, "application/json", contentError{Error: true, ErrorText: reason + ": " + detail})
}

// admitContentRate takes one request from the Content limit. Over the
// limit it responds with 429 and the headers that admitRate sets.
func (s *Server) admitContentRate(w http.ResponseWriter, c *catalogState, now time.Time) bool {
	if c.limiter.AllowN(now, 1) {
		return true
	}
	c.mu.Lock()
	c.stats.RateViolations++
	c.mu.Unlock()
	if s.cfg.ObserveRateOnly {
		return true
	}
	c.mu.Lock()
	c.stats.TooManyRequests++
	c.mu.Unlock()
	s.count(func(st *Stats) { st.TooManyRequests++ })

	perToken := time.Duration(float64(time.Second) / float64(c.limiter.Limit()))
	tokens := c.limiter.TokensAt(now)
	retryAfter := time.Duration((1 - tokens) * float64(perToken))
	reset := time.Duration((float64(c.limiter.Burst()) - tokens) * float64(perToken))

	w.Header().Set("X-Ratelimit-Retry", strconv.Itoa(ceilSeconds(retryAfter)))
	w.Header().Set("X-Ratelimit-Limit", strconv.Itoa(c.limiter.Burst()))
	w.Header().Set("X-Ratelimit-Reset", strconv.Itoa(ceilSeconds(reset)))
	writeJSON(w, http.StatusTooManyRequests, "application/problem+json", s.problem(http.StatusTooManyRequests, "too many requests", "limited by wbsim content limit", now))
	return false
}

func (c *catalogState) takeFailure() (status int, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served++
	if c.failStatus == 0 || c.served <= c.failAfter {
		return 0, false
	}
	c.stats.InjectedFailures++
	return c.failStatus, true
}

// selectCards returns the page of cards that req requests.
func (c *catalogState) selectCards(req *cardsListRequest) ([]Card, error) {
	settings := req.Settings
	filter := settings.Filter
	if filter.TextSearch != "" || len(filter.TagIDs) > 0 || len(filter.ObjectIDs) > 0 || len(filter.Brands) > 0 || filter.ImtID != 0 {
		return nil, fmt.Errorf("wbsim filters cards by withPhoto only")
	}
	withPhoto := 0 // the spec's default: only cards without photos
	if filter.WithPhoto != nil {
		withPhoto = *filter.WithPhoto
	}
	if withPhoto < -1 || withPhoto > 1 {
		return nil, fmt.Errorf("filter.withPhoto is %d, must be -1, 0 or 1", withPhoto)
	}
	limit := 10 // the spec's default
	if settings.Cursor.Limit != nil {
		limit = *settings.Cursor.Limit
	}
	if limit < 1 {
		return nil, fmt.Errorf("cursor.limit is %d, must be 1 to %d", limit, MaxCardsListLimit)
	}

	// The cursor is the last card of the previous page. Both of its fields
	// are needed to find it.
	var after *Card
	if settings.Cursor.UpdatedAt != "" || settings.Cursor.NmID != 0 {
		updatedAt, err := time.Parse(time.RFC3339Nano, settings.Cursor.UpdatedAt)
		if err != nil || settings.Cursor.NmID == 0 {
			return nil, fmt.Errorf("cursor needs updatedAt and nmID from the previous response, got updatedAt %q and nmID %d", settings.Cursor.UpdatedAt, settings.Cursor.NmID)
		}
		after = &Card{UpdatedAt: updatedAt, NmID: settings.Cursor.NmID}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	ordered := slices.Clone(c.cards)
	if !settings.Sort.Ascending {
		slices.Reverse(ordered)
	}
	page := []Card{}
	for _, card := range ordered {
		if len(page) == limit {
			break
		}
		if after != nil {
			order := compareCards(card, *after)
			if !settings.Sort.Ascending {
				order = -order
			}
			if order <= 0 {
				continue
			}
		}
		hasPhoto := len(card.Photos) > 0
		if (withPhoto == 0 && hasPhoto) || (withPhoto == 1 && !hasPhoto) {
			continue
		}
		page = append(page, cloneCard(card))
	}
	return page, nil
}
