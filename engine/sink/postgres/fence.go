package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// tableClaims holds each entity's fencing token: epoch grows by one each
// time a run claims the entity. A batch transaction reads the row FOR
// SHARE and commits only when the epoch is still its own, so a run that
// lost its lock (its session cut while a batch was on its way) cannot
// commit after a newer run claimed the entity: the newer claim's UPDATE
// waits for that batch, or the batch sees the newer epoch and rolls back.
const tableClaims = "crmsync_claims"

func (d *DB) claimsDDL() string {
	return `CREATE TABLE IF NOT EXISTS ` + d.ident(tableClaims) + ` (
			pipeline text NOT NULL,
			entity text NOT NULL,
			epoch bigint NOT NULL,
			owner text NOT NULL,
			claimed_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (pipeline, entity))`
}

// owner says who holds a claim, for the error of the run it fenced out.
func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s", os.Getpid(), host)
}

// bumpEpoch records a new claim of the entity, on the session that holds
// its advisory lock, and returns the new epoch.
func (d *DB) bumpEpoch(ctx context.Context, conn *pgx.Conn, pipeline, entity string) (int64, error) {
	var epoch int64
	err := conn.QueryRow(ctx, "INSERT INTO "+d.ident(tableClaims)+` AS c (pipeline, entity, epoch, owner) VALUES ($1, $2, 1, $3)
		ON CONFLICT (pipeline, entity) DO UPDATE SET epoch = c.epoch + 1, owner = excluded.owner, claimed_at = now()
		RETURNING epoch`, pipeline, entity, owner()).Scan(&epoch)
	if err != nil {
		return 0, fmt.Errorf("claiming entity %q of pipeline %q: %w", entity, pipeline, err)
	}
	if !strings.Contains(entity, "#") {
		// An ordinary claim fences out the entity's partitions too: a
		// partition whose session was cut cannot commit after it.
		_, err = conn.Exec(ctx, "UPDATE "+d.ident(tableClaims)+` SET epoch = epoch + 1, owner = $3, claimed_at = now()
			WHERE pipeline = $1 AND left(entity, length($2) + 1) = $2 || '#'`, pipeline, entity, owner())
		if err != nil {
			return 0, fmt.Errorf("claiming entity %q of pipeline %q (its partitions): %w", entity, pipeline, err)
		}
	}
	return epoch, nil
}

// fenceSQL reads the entity's claim and keeps it from changing until the
// transaction ends.
func (d *DB) fenceSQL() string {
	return "SELECT epoch, owner FROM " + d.ident(tableClaims) + " WHERE pipeline = $1 AND entity = $2 FOR SHARE"
}

// fenceCheck collects the claim row a fenced statement read.
type fenceCheck struct {
	f          sink.Fence
	found      bool
	epoch      int64
	ownerNow   string
	decodedErr error
}

func (c *fenceCheck) stmt(d *DB) stmt {
	return stmt{sql: d.fenceSQL(), args: [][]byte{[]byte(c.f.Pipeline), []byte(c.f.Entity)},
		oids: []uint32{oidText, oidText}, results: 2, read: c.read}
}

func (c *fenceCheck) read(values [][]byte) {
	if len(values) != 2 || len(values[0]) != 8 {
		c.decodedErr = errors.New("reading the claim: unexpected row")
		return
	}
	c.found = true
	c.epoch = int64(binary.BigEndian.Uint64(values[0]))
	c.ownerNow = string(values[1])
}

// err is nil when the fence holds.
func (c *fenceCheck) err() error {
	if c.decodedErr != nil {
		return c.decodedErr
	}
	return fenceErr(c.f, c.found, c.epoch, c.ownerNow)
}

func fenceErr(f sink.Fence, found bool, epoch int64, ownerNow string) error {
	switch {
	case !found:
		return fmt.Errorf("%s %s: no claim is recorded for it (epoch %d expected): %w", f.Pipeline, f.Entity, f.Epoch, sink.ErrClaimLost)
	case epoch != f.Epoch:
		return fmt.Errorf("%s %s was claimed again (epoch %d, by %s) after this run's claim (epoch %d); this run commits nothing more: %w",
			f.Pipeline, f.Entity, epoch, ownerNow, f.Epoch, sink.ErrClaimLost)
	}
	return nil
}

// checkFence checks f inside tx (no-op for an unfenced write).
func (d *DB) checkFence(ctx context.Context, tx pgx.Tx, f sink.Fence) error {
	if f.Epoch == 0 {
		return nil
	}
	var epoch int64
	var ownerNow string
	err := tx.QueryRow(ctx, d.fenceSQL(), f.Pipeline, f.Entity).Scan(&epoch, &ownerNow)
	found := true
	if errors.Is(err, pgx.ErrNoRows) {
		found, err = false, nil
	}
	if err != nil {
		return fmt.Errorf("reading the claim: %w", err)
	}
	return fenceErr(f, found, epoch, ownerNow)
}
