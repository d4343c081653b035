package value

import "unsafe"

// Boxes puts strings into interfaces without an allocation each.
//
// Go boxes a string into an `any` by copying its header (pointer and
// length) to a new 16-byte heap object: on the record path that is one
// allocation per text field per record, ~7% of a dry run's CPU with the
// garbage collector's share. Boxes instead copies headers into slabs of
// boxSlab headers and makes each interface point at its own slot, as the
// runtime's boxing would point at its own object: one allocation per
// boxSlab strings. A slot is written once and never reused (a full slab
// is left to the values that point into it and a new one started), so a
// boxed value stays what it was for as long as anything holds it.
//
// A Boxes belongs to one goroutine (one record processor); the values it
// makes may go anywhere.
type Boxes struct {
	slab []string
}

// boxSlab is how many headers a slab holds: 2 KiB, so a slab kept alive
// by one value still in a batch pins little.
const boxSlab = 128

// eface is the layout of an empty interface (runtime.eface).
type eface struct {
	typ, data unsafe.Pointer
}

// stringType is the type word of a string in an interface.
var stringType = func() unsafe.Pointer {
	var v any = ""
	return (*eface)(unsafe.Pointer(&v)).typ
}()

// String returns s as an interface holding a string, equal in every way
// to any(s).
func (b *Boxes) String(s string) any {
	if len(s) == 0 {
		return "" // the runtime boxes the empty string without allocating
	}
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]string, 0, boxSlab)
	}
	b.slab = append(b.slab, s)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = stringType, unsafe.Pointer(&b.slab[len(b.slab)-1])
	return v
}
