// Package alloc decides how much of a virtual warehouse's stock each bound
// sales channel shows for one SKU.
//
// A virtual warehouse pools chosen 1C warehouses, subtracts a safety buffer
// and active reservations, and splits the result between channel bindings
// listed in priority order. Allocate and Explain are pure: they read only
// their arguments, and the same arguments give the same result.
//
// # Steps
//
//  1. Stock is the sum of max(0, level) over the chosen 1C warehouses. An
//     empty Warehouses list chooses every warehouse in Input.Levels, and a
//     chosen warehouse missing from Levels counts as 0. The sum saturates at
//     math.MaxInt64 instead of overflowing.
//  2. Pool is Stock − Buffer − Reserved, and never below 0. A negative
//     Reserved counts as 0.
//  3. Scarce mode is on when ScarceAt > 0 and Pool ≤ ScarceAt. Then only the
//     first ScarceChannels bindings (1 when unset) are active, and every other
//     binding shows 0. When scarce mode is off, every binding is active.
//  4. Carve-outs: each active fixed binding, in priority order, takes
//     min(Quantity − sold, what is left of the pool). Those units are
//     exclusive to that channel and hidden from every other one. In scarce
//     mode an inactive fixed binding takes nothing, so its units stay with
//     the top channels.
//  5. Shared is what is left of the pool after the carve-outs. Every active
//     all binding shows Shared, and every active share binding shows
//     floor(Shared × Percent / 100). Several channels may show the same
//     shared units at once. When one of them sells a unit, its reservation
//     takes the unit out of the pool for every channel on the next run.
//  6. Cap and Min apply last to each binding: the value is lowered to Cap
//     when Cap > 0, and then becomes 0 when Min > 0 and the value is below
//     Min. A fixed binding's carve-out stays set aside even when Cap or Min
//     hides part or all of it, so other channels never gain those units.
//
// # Failure isolation
//
// Input.Sold holds, per fixed channel, the units of Input.Reserved that the
// channel's own orders took from its carve-out. Those units are already
// subtracted from the pool as reservations, so the carve-out shrinks by the
// same amount and Shared stays as it was. Sold is clamped to 0..Quantity,
// and the sold units of all fixed bindings, taken in priority order, are
// clamped to at most Reserved in total, because sold units are a part of
// the reservations.
//
// So when a fixed channel's orders take units out of its carve-out, with
// Reserved and Sold growing by the same amount, no other channel's number
// changes. This holds while scarce mode stays off and while the pool covered
// every carve-out in full before the orders. A fixed channel whose
// reservations are not listed in Sold drains the shared stock instead,
// because its carve-out is refilled from the pool.
//
// NOTE: once 1C posts the sale and the reservation closes, Sold drops back
// and the carve-out is refilled to Quantity from the remaining stock. A
// carve-out is a share of current stock, not a sales quota for a period.
//
// # Guarantees and their exceptions
//
//   - Every number is between 0 and Pool, and the sum of the fixed bindings'
//     numbers is at most Pool.
//   - More stock never lowers a channel's number while scarce mode stays the
//     same. When Pool rises past ScarceAt, the carve-outs of lower-priority
//     fixed bindings start again, so a top channel's number may drop. For
//     example, with bindings (web all, retail all, wildberries fixed 50) and
//     ScarceAt 2, the web store shows 2 at a pool of 2 units but 0 at a pool
//     of 3, because Wildberries then carves out all 3. Min
//     never breaks this guarantee: a larger value is either at least Min or
//     0 like the smaller one.
//   - In scarce mode every binding after the first ScarceChannels shows 0,
//     so no channel outside the top ones shows more than any higher-priority
//     channel. Among the top channels each rule decides: with ScarceChannels
//     2, a first binding of share 50 shows less than a second binding of all.
package alloc
