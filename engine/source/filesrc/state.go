package filesrc

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// State is the checkpoint of a file or github read, kept in Page.Resume:
// one entry per file, in name order.
//
//	{"v":1,"files":[{"name":"a.csv","size":120,"mtime":"…","hash":"…",
//	  "offset":120,"line":5,"rows":3,"done":true}]}
type State struct {
	V     int          `json:"v"`
	Files []*FileState `json:"files"`
}

// FileState is what is known of one file: how it looked when its read
// began (size, mtime and hash for local files, the blob sha for github)
// and how far the committed pages got.
type FileState struct {
	Name  string `json:"name"`
	Size  int64  `json:"size,omitempty"`
	MTime string `json:"mtime,omitempty"`
	Hash  string `json:"hash,omitempty"`
	SHA   string `json:"sha,omitempty"`
	Position
	Done bool `json:"done,omitempty"`
}

const stateVersion = 1

// ParseState reads a Resume; "" is an empty state.
func ParseState(s string) (*State, error) {
	st := &State{V: stateVersion}
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), st); err != nil {
		return &State{V: stateVersion}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	if st.V != stateVersion {
		return &State{V: stateVersion}, fmt.Errorf("reading the checkpoint: version %d is unknown", st.V)
	}
	return st, nil
}

// Get returns the entry of a file, nil when there is none.
func (s *State) Get(name string) *FileState {
	i := sort.Search(len(s.Files), func(i int) bool { return s.Files[i].Name >= name })
	if i < len(s.Files) && s.Files[i].Name == name {
		return s.Files[i]
	}
	return nil
}

// Put sets the entry of a file.
func (s *State) Put(fs *FileState) {
	i := sort.Search(len(s.Files), func(i int) bool { return s.Files[i].Name >= fs.Name })
	if i < len(s.Files) && s.Files[i].Name == fs.Name {
		s.Files[i] = fs
		return
	}
	s.Files = append(s.Files, nil)
	copy(s.Files[i+1:], s.Files[i:])
	s.Files[i] = fs
}

// Keep returns a state holding copies of the entries of the named files
// only: files that are gone drop out of the checkpoint.
func (s *State) Keep(names []string) *State {
	out := &State{V: stateVersion}
	for _, n := range names {
		if fs := s.Get(n); fs != nil {
			c := *fs
			out.Put(&c)
		}
	}
	return out
}

func (s *State) encode() string {
	if s.Files == nil {
		s.Files = []*FileState{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // plain strings and numbers always marshal
	}
	return string(b)
}

// sample is how much of each end of a file the fingerprint reads.
const sample = 64 << 10

// Fingerprint hashes the first n bytes of a file as a checkpoint
// remembers them: sha256 of n, the first 64 KiB and the 64 KiB ending at
// n (all n bytes when n is at most 128 KiB). Equal fingerprints of the
// old size mean the file is the same or only grew; reading 128 KiB keeps
// the check cheap for a 1 GB file.
func Fingerprint(r io.ReaderAt, n int64) (string, error) {
	h := sha256.New()
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(n))
	h.Write(size[:])
	parts := [][2]int64{{0, n}}
	if n > 2*sample {
		parts = [][2]int64{{0, sample}, {n - sample, n}}
	}
	for _, p := range parts {
		if _, err := io.Copy(h, io.NewSectionReader(r, p[0], p[1]-p[0])); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
