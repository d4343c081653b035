package githubsrc

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitHub answers the REST contents and blob APIs for one repository
// "o/r" at ref "main" (and the default branch), from a map of files.
type fakeGitHub struct {
	*httptest.Server
	t     *testing.T
	token string

	mu       sync.Mutex
	files    map[string]string
	requests []string       // "GET <path?query> <accept>"
	fail     map[string]int // path → 502 answers still to give
	cut      map[string]int // repo path → raw answers still to cut half way
	limited  int            // requests still to refuse with a spent rate limit
	spend    bool           // the next 200 says the limit is spent
	forbid   bool           // answer 403 without a spent limit
	headers  []http.Header  // of every request
}

func newFake(t *testing.T, files map[string]string) *fakeGitHub {
	f := &fakeGitHub{t: t, files: files, fail: map[string]int{}, cut: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

func (f *fakeGitHub) set(path, content string) {
	f.mu.Lock()
	f.files[path] = content
	f.mu.Unlock()
}

func (f *fakeGitHub) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	accept := r.Header.Get("Accept")
	f.requests = append(f.requests, fmt.Sprintf("GET %s %s", r.URL.RequestURI(), strings.TrimPrefix(accept, "application/vnd.github.")))
	f.headers = append(f.headers, r.Header.Clone())
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, 401, map[string]string{"message": "Bad credentials"})
		return
	}
	if f.limited > 0 {
		f.limited--
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
		writeJSON(w, 403, map[string]string{"message": "API rate limit exceeded"})
		return
	}
	if f.forbid {
		writeJSON(w, 403, map[string]string{"message": "Resource not accessible by personal access token"})
		return
	}
	if f.fail[r.URL.Path] > 0 {
		f.fail[r.URL.Path]--
		writeJSON(w, 502, map[string]string{"message": "Server Error"})
		return
	}
	if f.spend {
		f.spend = false
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
	}
	if ref := r.URL.Query().Get("ref"); ref != "" && ref != "main" {
		writeJSON(w, 404, map[string]string{"message": "No commit found for the ref " + ref})
		return
	}
	const repo = "/repos/o/r"
	rest, ok := strings.CutPrefix(r.URL.Path, repo)
	if !ok {
		writeJSON(w, 404, map[string]string{"message": "Not Found"})
		return
	}
	if sha, ok := strings.CutPrefix(rest, "/git/blobs/"); ok {
		for _, c := range f.files {
			if blobSHA(c) == sha && accept == mediaRaw {
				w.Write([]byte(c))
				return
			}
		}
		writeJSON(w, 404, map[string]string{"message": "Not Found"})
		return
	}
	p, ok := strings.CutPrefix(rest, "/contents")
	if !ok {
		writeJSON(w, 404, map[string]string{"message": "Not Found"})
		return
	}
	p = strings.TrimPrefix(p, "/")
	if c, ok := f.files[p]; ok {
		if accept != mediaRaw {
			writeJSON(w, 200, map[string]any{"type": "file", "name": p[strings.LastIndex(p, "/")+1:], "path": p, "sha": blobSHA(c),
				"size": len(c), "encoding": "base64", "content": base64.StdEncoding.EncodeToString([]byte(c))})
			return
		}
		if len(c) > blobAbove {
			writeJSON(w, 403, map[string]string{"message": "This API returns blobs up to 1 MB in size."})
			return
		}
		if f.cut[p] > 0 {
			f.cut[p]--
			w.Header().Set("Content-Length", strconv.Itoa(len(c)))
			w.Write([]byte(c[:len(c)/2]))
			return // the server closes the connection: the body ends early
		}
		w.Write([]byte(c))
		return
	}
	// A folder: its direct children.
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var list []map[string]any
	for fp, c := range f.files {
		rel, ok := strings.CutPrefix(fp, prefix)
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rel, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		e := map[string]any{"name": name, "path": prefix + name, "type": "file", "sha": blobSHA(c), "size": len(c),
			"download_url": f.URL + "/raw/" + prefix + name}
		if isDir {
			e["type"], e["sha"], e["size"], e["download_url"] = "dir", blobSHA(name), 0, nil
		}
		list = append(list, e)
	}
	if len(list) == 0 {
		writeJSON(w, 404, map[string]string{"message": "Not Found"})
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i]["name"].(string) < list[j]["name"].(string) })
	writeJSON(w, 200, list)
}
