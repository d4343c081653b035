package authoring

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/sink/memory"
)

// An entity's fixtures may hold several sync rounds, each in a folder of
// its own, numbered from 1 without a gap:
//
//	hubspot.fixtures/contacts/round-1/001.request.json   the first sync
//	hubspot.fixtures/contacts/round-1/expected.jsonl
//	hubspot.fixtures/contacts/round-2/001.request.json   the next sync, from round 1's checkpoint
//	hubspot.fixtures/contacts/round-2/expected.jsonl     the records round 2 wrote
//
// An entity folder without round-N folders is one round (the layout
// preview --record writes). Each round may hold an env file whose values
// replace the fixtures' env file for that round (a file source's folder).
const (
	roundPrefix = "round-"
	// EnvFile holds the values of ${env:…} variables a replay uses:
	// NAME=value a line, # comments. In the fixtures folder for every
	// entity and round; in a round folder for that round only.
	EnvFile = "env"
	// StateFile, in an entity's folder, is the checkpoint its first round
	// starts from — {"watermark": "2024-04-01T00:00:00Z"} — for a
	// pipeline whose first sync asks for a time relative to now
	// (start: -30d), which no recording can match. Without it round 1 is
	// a first sync.
	StateFile = "state.json"
)

// Round is one sync round of an entity's fixtures.
type Round struct {
	N   int    // from 1
	Dir string // the folder of its exchanges, expected.jsonl and env file
	// Whole: a round-N folder, which holds a whole sync. Its replay runs
	// to the source's end, as a sync does, so the checkpoint is
	// committed for the next round; a request past the recorded ones
	// fails. A one-round folder may hold a preview that stopped at a
	// limit, and its replay stops where the recording did.
	Whole bool
}

// Rounds lists the rounds of one entity's fixtures folder (dir/<entity>):
// its round-N folders in order, or the folder itself as round 1 when it
// has none. A folder that mixes both layouts, or numbers its rounds with
// a gap, is an error: a round left out would go untested.
func Rounds(entityDir string) ([]Round, error) {
	entries, err := os.ReadDir(entityDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading fixtures: %w", err)
	}
	var nums []int
	flat := false
	for _, e := range entries {
		name := e.Name()
		if rest, ok := strings.CutPrefix(name, roundPrefix); ok && e.IsDir() {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 1 || rest != strconv.Itoa(n) {
				return nil, fmt.Errorf("fixtures %s: folder %s is not round-N with N from 1", entityDir, name)
			}
			nums = append(nums, n)
			continue
		}
		if strings.HasSuffix(name, requestSuffix) || strings.HasSuffix(name, responseSuffix) || name == ExpectedFile {
			flat = true
		}
	}
	if len(nums) == 0 {
		return []Round{{N: 1, Dir: entityDir}}, nil
	}
	if flat {
		return nil, fmt.Errorf("fixtures %s: holds both round-N folders and exchanges or %s of its own; move them into round-1/", entityDir, ExpectedFile)
	}
	slices.Sort(nums)
	out := make([]Round, len(nums))
	for i, n := range nums {
		if n != i+1 {
			return nil, fmt.Errorf("fixtures %s: round-%d is missing (rounds are numbered from 1 without a gap)", entityDir, i+1)
		}
		out[i] = Round{N: n, Dir: filepath.Join(entityDir, roundPrefix+strconv.Itoa(n)), Whole: true}
	}
	return out, nil
}

// ReadEnv reads an env file (NAME=value a line; blank lines and # comments
// skipped; the value taken as written, quotes included). A file that does
// not exist is no values.
func ReadEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading fixtures env: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s:%d: want NAME=value, got %q", path, n, l)
		}
		out[k] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// RoundEnv is the env of a round: the fixtures folder's env file, then
// the round folder's on top.
func RoundEnv(fixturesDir string, r Round) (map[string]string, error) {
	base, err := ReadEnv(filepath.Join(fixturesDir, EnvFile))
	if err != nil {
		return nil, err
	}
	own, err := ReadEnv(filepath.Join(r.Dir, EnvFile))
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return base, nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out, nil
}

// SeedState stores the checkpoint of dir/<entity>/state.json, when there
// is one, in dest: the state before the entity's first round.
func SeedState(dest *memory.DB, plan *pipeline.Plan, e *pipeline.Entity, dir string) error {
	path := filepath.Join(dir, e.Name, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading fixtures: %w", err)
	}
	var st struct {
		Watermark string `json:"watermark"`
		Resume    string `json:"resume"`
		Version   string `json:"version"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&st); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	dest.SetCheckpoint(plan.Name, e.Name, sink.Checkpoint{Watermark: st.Watermark, Resume: st.Resume, Version: st.Version})
	return nil
}

// ReplayRound reads one round of an entity offline, like ReplayEntity but
// from the exchanges in the round's own folder. o.Dest carries the state
// from one round to the next: the same in-memory destination for every
// round of an entity makes round 2 an incremental sync from the
// checkpoint round 1 committed.
func ReplayRound(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, r Round, p *Replayer, o Options) (*Result, error) {
	return replayDir(ctx, plan, e, r.Dir, p, o, r.Whole)
}
