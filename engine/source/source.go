// Package source defines what every reader of records (http, sql, file,
// github) gives the runner: pages of raw JSON records, streamed.
package source

import (
	"context"
	"time"
)

// Record is one source record as JSON text. File sources set File and Row
// (1-based line of the record's first line); others leave them empty.
type Record struct {
	JSON string
	File string
	Row  int
	// Keys and Cells, when set, index JSON: the source wrote it as one
	// flat object whose keys are Keys.Names in that order, and Cells[k]
	// is where the value of key k lies in JSON. The record path then
	// reads a top-level key by its index instead of scanning the text
	// again (SQL rows). A record made any other way leaves both unset;
	// whoever changes JSON must drop them.
	Keys  *Keys
	Cells []Cell
}

// Keys are the top-level keys of records a source wrote itself, shared
// by the records of a result (a pointer the record path can remember).
type Keys struct {
	Names []string
}

// Cell is the byte range [Start, End) of one value (its JSON text) in a
// record's JSON.
type Cell struct {
	Start, End uint32
}

// Page is one unit of reading: an HTTP page, a batch of SQL rows, a chunk
// of a file. Resume, when set, is the source's own position after this
// page; the runner stores it with the page's rows in one transaction and
// hands it back in ReadState.Resume, so a killed sync continues after the
// last committed page.
type Page struct {
	Number  int // 1-based
	Records []Record
	Resume  string
	// Total is the number of records the source says it holds, -1 if unknown.
	Total int
	// Rejects are records the source could not read (a malformed CSV row),
	// with the reason; they go to the rejects store, not into the table.
	Rejects []Reject
	// Parent is the parent record of a substream's page (set by the runner).
	Parent string
}

// Reject is a record a source could not turn into JSON.
type Reject struct {
	Raw    string
	File   string
	Row    int
	Reason string
}

// ReadState is what the runner knows when a read starts.
type ReadState struct {
	// Watermark is the stored maximum of the incremental field, already
	// formatted as the entity asks (rfc3339, epoch_s, …) and moved back by
	// its lookback; "" on a first or full run.
	Watermark string
	// WatermarkTime is the same watermark as a time, zero when none.
	WatermarkTime time.Time
	// Resume is the Resume of the last committed page; "" to start over.
	Resume string
	// Incremental is set when the read continues from a stored watermark
	// (not a first run, --full or a window): a source with a request of
	// its own for such reads (a change feed) uses it.
	Incremental bool
	// Window limits the read to [Start, End) when set (--start-date/--end-date).
	Start, End time.Time
	// Parent is the parent record (JSON) of a child entity's read.
	Parent string
	// Range, when set, limits a full read to one partition of the
	// primary key (see Partitioner).
	Range *KeyRange
}

// KeyRange is one partition of a full read by primary key: the keys k
// with Lo <= k < Hi. Each bound is a JSON value (a number or a string)
// as the database wrote the key; "" leaves that side open, so the
// ranges of a plan cover every key, even one inserted after planning.
type KeyRange struct {
	Lo string `json:"lo,omitempty"`
	Hi string `json:"hi,omitempty"`
}

// Partitioner is implemented by readers that can split a full read into
// ranges of the primary key: n ranges, or with rows > 0 one per rows
// rows, at boundaries of equal row counts (gaps and skew in the keys do
// not matter). It returns fewer ranges when the entity has fewer rows.
type Partitioner interface {
	Partitions(ctx context.Context, n, rows int) ([]KeyRange, error)
}

// Stats are counters a source keeps for the sync result and metrics.
type Stats struct {
	APICalls      int64
	Retries       int64
	RateLimitWait time.Duration
}

// Reader reads one entity. Read calls emit once per page, in order, and
// returns when the source is exhausted, emit returns an error, or ctx
// ends. It must not hold more than a bounded number of pages in memory.
type Reader interface {
	Read(ctx context.Context, st ReadState, emit func(Page) error) error
}

// ChangeProber is implemented by readers that can ask the source cheaply
// for a value that changes whenever the entity's data does (a file's
// modification time, a content hash): the runner skips the read when it
// equals the value stored with the last complete sync. ok is false when
// the entity has no such probe.
type ChangeProber interface {
	ProbeChange(ctx context.Context) (value string, ok bool, err error)
}

// StatsReporter is implemented by readers that count calls and retries.
type StatsReporter interface {
	Stats() Stats
}
