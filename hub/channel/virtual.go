package channel

import (
	"obmenhub/hub/alloc"
	"obmenhub/hub/ledger"
)

// allocInput turns a SKU's ledger view into the input of a virtual
// warehouse: whole units per 1C warehouse, rounded down, and the units its
// active reservations hold, in all and per channel.
func allocInput(st *ledger.SKUStock) alloc.Input {
	in := alloc.Input{Levels: make(map[string]int64, len(st.Levels)), Reserved: st.Reserved, Sold: st.ReservedBy}
	for _, l := range st.Levels {
		in.Levels[l.Warehouse] += l.Quantity.Floor()
	}
	return in
}

// Allocated returns what channel shows of st through the virtual
// warehouses it is bound to: the sum of its allocation in each. A deleted
// or unknown SKU shows 0.
func Allocated(st *ledger.SKUStock, channel string, vws []alloc.Warehouse) int64 {
	if st == nil || st.Deleted {
		return 0
	}
	in := allocInput(st)
	var sum int64
	for _, w := range vws {
		sum += alloc.Allocate(w, in)[channel]
	}
	return sum
}

// Available returns what a channel without virtual warehouses shows: its
// warehouses' sum (see Desired) less the units that active reservations
// hold, never below 0.
func Available(st *ledger.SKUStock, warehouses []string) int64 {
	d := Desired(st, warehouses)
	if st != nil {
		d -= st.Reserved
	}
	return max(d, 0)
}
