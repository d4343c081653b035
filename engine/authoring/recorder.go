package authoring

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Recorder is an http.RoundTripper that passes requests on and keeps
// every exchange, with secrets removed.
type Recorder struct {
	next http.RoundTripper
	red  *Redactor

	mu   sync.Mutex
	list []Exchange
}

// NewRecorder records the exchanges that go through next.
func NewRecorder(next http.RoundTripper, red *Redactor) *Recorder {
	return &Recorder{next: next, red: red}
}

// Wrap lets a Recorder fit source.Probe.Wrap: it records what the
// reader's own transport exchanges.
func (r *Recorder) Wrap(next http.RoundTripper) http.RoundTripper {
	r.mu.Lock()
	r.next = next
	r.mu.Unlock()
	return r
}

// Exchanges returns what was recorded so far, in order.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.list...)
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	x := Exchange{Request: r.red.Request(req, body)}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		x.Err = r.red.Text(err.Error())
		r.add(x)
		return nil, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		// Hand the reader the same cut-off body, so it retries as it would.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{rerr}))
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	x.Response = r.red.Response(resp, inflate(resp.Header, b))
	r.add(x)
	return resp, nil
}

func (r *Recorder) add(x Exchange) {
	r.mu.Lock()
	r.list = append(r.list, x)
	r.mu.Unlock()
}

// readRequestBody reads a request's body and puts it back.
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// inflate undoes Content-Encoding: deflate for the stored copy (the
// transport already undid gzip); fixtures hold plain bodies.
func inflate(h http.Header, b []byte) []byte {
	if !strings.EqualFold(strings.TrimSpace(h.Get("Content-Encoding")), "deflate") || len(b) < 2 {
		return b
	}
	var rd io.Reader
	if b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return b
		}
		rd = zr
	} else {
		rd = flate.NewReader(bufio.NewReader(bytes.NewReader(b)))
	}
	out, err := io.ReadAll(rd)
	if err != nil {
		return b
	}
	return out
}
