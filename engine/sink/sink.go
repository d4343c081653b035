// Package sink defines destinations: where rows, rejects, checkpoints and
// sync history land. A batch's rows, its rejects and the entity's new
// checkpoint commit in one transaction, so the checkpoint is never ahead
// of the data.
package sink

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/engine/value"
)

// Column is one column of a table.
type Column struct {
	Name string
	Type value.Type
}

// WriteMode is how a table is written (write:).
type WriteMode string

// Write modes.
const (
	Upsert  WriteMode = "upsert"
	Append  WriteMode = "append"
	Replace WriteMode = "replace"
)

// WriteModes are the values of write:.
var WriteModes = []string{string(Upsert), string(Append), string(Replace)}

// DeleteMode is what a complete full sync does to rows it did not see
// (delete_missing:); empty: nothing.
type DeleteMode string

// Delete modes.
const (
	DeleteSoft DeleteMode = "soft" // set _deleted_at
	DeleteHard DeleteMode = "hard" // delete the row
)

// DeleteModes are the values of delete_missing:.
var DeleteModes = []string{string(DeleteSoft), string(DeleteHard)}

// Table is the destination table of an entity (or of a child array).
type Table struct {
	Name       string
	Columns    []Column  // declared fields, in order
	PrimaryKey []string  // column names; empty for append
	KeepRaw    bool      // add a _raw jsonb column holding the source record
	Write      WriteMode // Upsert (default), Append or Replace
	// DeleteMissing is "", DeleteSoft or DeleteHard: after a complete
	// successful full sync, rows whose key was not seen are marked
	// _deleted_at or deleted.
	DeleteMissing DeleteMode
	// ParentKey names the columns of a child table that hold its parent's
	// primary key; a re-synced parent's children are replaced.
	ParentKey []string
	// Children are the child tables of this table. When a full refresh
	// removes parents (replace, delete_missing: hard), FinishFull removes
	// their children too.
	Children []*Table
}

// Row is one record's values in Table.Columns order (see package value
// for the Go type of each field type), and its raw source JSON.
type Row struct {
	Values []any
	Raw    string
}

// Reject is a record that failed validation or conversion.
type Reject struct {
	RecordID string
	Reasons  []string
	Raw      string
}

// ChildRows are the rows of a child table produced from one batch.
// Parents lists the parent keys whose children are replaced by Rows.
type ChildRows struct {
	Table   *Table
	Parents [][]any
	Rows    []Row
}

// Checkpoint is the state stored per entity.
type Checkpoint struct {
	Watermark string // newest value of the incremental field, RFC 3339 for times
	Resume    string // the source's own position (see source.Page.Resume)
	// Version is the value of the entity's change probe (changed_when)
	// when its last complete sync began: a sync whose probe answers the
	// same value reads nothing.
	Version   string
	UpdatedAt time.Time
}

// Batch is what commits in one transaction.
type Batch struct {
	SyncID   int64
	Pipeline string
	Entity   string
	Table    *Table
	Rows     []Row
	Children []ChildRows
	Rejects  []Reject
	// Checkpoint, when not nil, replaces the entity's stored checkpoint.
	Checkpoint *Checkpoint
	// Epoch, when not 0, fences the batch: it commits only while Epoch is
	// still the entity's newest claim (see Claim), else Write fails with
	// ErrClaimLost and nothing of the batch lands.
	Epoch int64
	// Progress, when not nil, is the sync's counts up to and including
	// this batch: the history row is brought up to them in the batch's
	// transaction, so a killed sync's row counts what it committed.
	Progress *Progress
	// Partition, when set, is the partition of a partitioned backfill
	// the batch belongs to: its checkpoint and its fence are the
	// partition's (StateKey), its rejects the entity's.
	Partition string
	// Overlapping says the partitions' rows may share keys (time
	// windows: a record changed during the backfill, or returned by a
	// server outside its window, is in two): the batch takes the
	// table's write lock alone, as an ordinary sync's does, instead of
	// sharing it with the other partitions (disjoint key ranges).
	Overlapping bool
	// Prepared is a destination's own work on the batch done ahead of
	// Write by its PrepareWrite (see Preparer), or nil.
	Prepared any
}

// Preparer is implemented by destinations that can do the client side of
// a batch's write (encoding its rows) ahead of Write, on another
// goroutine, while the batch before it is still being written.
// PrepareWrite keeps its result, error included, in b.Prepared; Write
// uses it (or does the work itself when it is missing or stale) and
// returns any error there as its own, so nothing changes but when the
// work is done. PrepareWrite writes nothing to the destination.
type Preparer interface {
	PrepareWrite(ctx context.Context, b *Batch)
}

// StateKey is the entity name the batch's checkpoint and fence use.
func (b *Batch) StateKey() string {
	if b.Partition == "" {
		return b.Entity
	}
	return PartitionKey(b.Entity, b.Partition)
}

// PartitionKey is the name a partition's checkpoint and claim are stored
// under: entity#partition (an entity name never holds #).
func PartitionKey(entity, partition string) string { return entity + "#" + partition }

// Partitioned is implemented by destinations that run partitioned
// backfills: many partitions of one entity at once, each under its own
// fenced claim, and none at the same time as an ordinary sync of the
// entity.
type Partitioned interface {
	// LockPartition claims one partition (claim key pipeline, entity#
	// partition) and holds the entity shared: other partitions may run,
	// an ordinary Lock of the entity is refused (ErrLocked) until every
	// partition is unlocked, and a partition is refused while an ordinary
	// sync holds the entity. An ordinary claim of the entity fences out
	// every partition claimed before it.
	LockPartition(ctx context.Context, pipeline, entity, partition string, lost func(error)) (Claim, error)
	// FinishPartitions, in one transaction serialized with every other
	// FinishPartitions of the entity and fenced by f: reads the stored
	// checkpoints of keys (missing ones absent from the map) and, when
	// merge returns ok, stores its checkpoint as the entity's and deletes
	// those of keys. It reports whether merge was ok.
	FinishPartitions(ctx context.Context, pipeline, entity string, keys []string, f Fence, merge func(map[string]Checkpoint) (Checkpoint, bool)) (bool, error)
}

// Progress is a running sync's counts of records read so far; created,
// updated and unchanged come from the writes themselves.
type Progress struct {
	Processed, Filtered, Rejected, Failed, Duplicates int64
}

// Result counts what a batch did to the table. Duplicate keys within a
// batch count once (the last one wins).
type Result struct {
	Created, Updated, Unchanged int
}

// Writer creates tables and writes batches.
type Writer interface {
	// Prepare creates the table or evolves it: a new column is added; a
	// column whose type changed is an error naming table, column, both
	// types and how to migrate.
	Prepare(ctx context.Context, t *Table) error
	Write(ctx context.Context, b *Batch) (Result, error)
}

// FullRefresher is implemented by destinations that support replace and
// delete_missing: Begin is called before the first batch of a full sync,
// Finish after the last, with ok=false when the sync did not complete.
//
// f fences the refresh like Batch.Epoch: Finish removes rows only
// while it is still the entity's newest claim.
type FullRefresher interface {
	BeginFull(ctx context.Context, t *Table, syncID int64, f Fence) error
	FinishFull(ctx context.Context, t *Table, syncID int64, ok bool) error
}

// RejectPruner is implemented by destinations whose rejects can be
// pruned. Write already replaces a record's rejects from earlier syncs
// when the record is rejected again (same pipeline, entity and record
// id; for a record without an id, the same raw text); PruneRejects, called
// after a sync that read the whole entity from its start to its end,
// removes the entity's rejects of every earlier sync: a record still bad
// was rejected again by this one.
type RejectPruner interface {
	PruneRejects(ctx context.Context, pipeline, entity string, syncID int64) error
}

// Statuses of a sync.
const (
	StatusRunning     = "running"
	StatusSuccess     = "success"
	StatusPartial     = "partial"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Sync is one row of crmsync_sync_history.
type Sync struct {
	ID         int64     `json:"id"`
	Pipeline   string    `json:"pipeline"`
	Entity     string    `json:"entity"`
	PlanHash   string    `json:"plan_hash"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"` // zero while running
	Status     string    `json:"status"`
	Processed  int64     `json:"processed"`
	Created    int64     `json:"created"`
	Updated    int64     `json:"updated"`
	Unchanged  int64     `json:"unchanged"`
	Failed     int64     `json:"failed"`
	Filtered   int64     `json:"filtered"`
	Rejected   int64     `json:"rejected"`
	// Duplicates are records whose key an earlier record of the same
	// batch had: the last one's values are written, once. processed =
	// created + updated + unchanged + filtered + rejected + failed + duplicates.
	Duplicates       int64         `json:"duplicates"`
	APICalls         int64         `json:"api_calls"`
	Retries          int64         `json:"retries"`
	ValidationErrors int64         `json:"validation_errors"`
	ProcessingErrors int64         `json:"processing_errors"`
	Duration         time.Duration `json:"-"`
	RecordsPerSecond float64       `json:"records_per_second"`
	SuccessRate      float64       `json:"success_rate"`
	Errors           []string      `json:"errors"`
	// FieldWarnings counts the sync's per-record warning lines by field
	// (validation warnings, conversion and expression failures; a
	// child's fields as child.field): lines is every one, printed or not;
	// not_printed those past the per-field line limit. Nil: none.
	FieldWarnings map[string]FieldWarning `json:"field_warnings,omitempty"`
}

// FieldWarning is one field's count of per-record warning lines.
type FieldWarning struct {
	Lines      int64 `json:"lines"`
	NotPrinted int64 `json:"not_printed"`
}

// DurationSeconds is Duration for JSON readers.
func (s Sync) DurationSeconds() float64 { return s.Duration.Seconds() }

// StoredReject is one row of crmsync_rejects.
type StoredReject struct {
	ID        int64     `json:"id"`
	Pipeline  string    `json:"pipeline"`
	Entity    string    `json:"entity"`
	RecordID  string    `json:"record_id"`
	Reasons   []string  `json:"reasons"`
	Raw       string    `json:"raw"`
	SyncID    int64     `json:"sync_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Filter selects history or rejects rows; empty fields match all.
type Filter struct {
	Pipeline, Entity string
	Limit            int
	// Before, when not 0, keeps rows whose id is below it: the cursor of
	// the next page of a newest-first listing (the last row's id).
	Before int64
}

// State stores checkpoints, history and rejects.
type State interface {
	Checkpoint(ctx context.Context, pipeline, entity string) (Checkpoint, error)
	StartSync(ctx context.Context, s *Sync) (int64, error)
	FinishSync(ctx context.Context, s *Sync) error
	// MarkInterrupted turns rows left "running" by dead processes into
	// "interrupted" and returns how many it changed.
	MarkInterrupted(ctx context.Context, pipeline, entity string) (int, error)
	History(ctx context.Context, f Filter) ([]Sync, error)
	Rejects(ctx context.Context, f Filter) ([]StoredReject, error)
}

// Locker keeps two runs of one entity apart, across processes.
// Lock returns ErrLocked at once when another holder has it.
type Locker interface {
	Lock(ctx context.Context, pipeline, entity string) (unlock func(), err error)
}

// WatchedLocker is a Locker whose locks can be lost while held (a
// database session that ends): lost is called, at most once, when the
// watch finds the lock gone before Unlock.
type WatchedLocker interface {
	LockWatched(ctx context.Context, pipeline, entity string, lost func(error)) (Claim, error)
}

// Claim is a held lock that can be lost.
type Claim interface {
	// Check returns an error when the lock is gone.
	Check(ctx context.Context) error
	// Epoch is the claim's fencing token: it grows each time the entity
	// is claimed, and a write fenced with an older one cannot commit.
	Epoch() int64
	Unlock()
}

// Fence names the claim a write is made under (zero Epoch: unfenced).
type Fence struct {
	Pipeline, Entity string
	Epoch            int64
}

// ErrClaimLost is wrapped by the error of a fenced write whose claim is
// no longer the entity's newest: another run claimed it since.
var ErrClaimLost = errors.New("claim lost")

// Destination is a complete destination.
type Destination interface {
	Writer
	State
	Locker
	Ping(ctx context.Context) error
	Close() error
}

// ErrLocked is returned by Lock when the entity is being synced elsewhere.
var ErrLocked = lockedError{}

type lockedError struct{}

func (lockedError) Error() string { return "another crmsync run is syncing this entity" }
