package serve

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"riverqueue.com/riverui"
)

// riverUIPrefix is where River's own job view (riverui) is mounted.
const riverUIPrefix = "/riverui"

// ui is riverui's handler over this process's River client.
func (q *riverQueue[TTx]) ui(log *slog.Logger) (http.Handler, func(context.Context) error, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(q.client, nil),
		Logger:    log,
		Prefix:    riverUIPrefix,
	})
	if err != nil {
		return nil, nil, err
	}
	return h, h.Start, nil
}

// riverUI serves riverui under /riverui/ behind the operator token: it
// can cancel, retry and delete jobs, so it is refused without one. The
// token is accepted as "Authorization: Bearer <token>" or, for a browser
// (riverui's page makes its own requests), as the password of HTTP Basic
// authentication with any user name.
type riverUI struct {
	s    *Scheduler
	once sync.Once
	h    http.Handler
	err  error
}

func (u *riverUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := u.s
	if s.o.AdminToken == "" {
		http.Error(w, "riverui is off: serve was started without --admin-token (riverui can cancel, retry and delete jobs)", http.StatusForbidden)
		return
	}
	if !u.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="crmsync riverui (the password is the operator token)", charset="UTF-8"`)
		http.Error(w, "riverui needs the operator token: as the Basic auth password, or Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	}
	if s.q == nil {
		http.Error(w, "riverui is not built here: this process does not schedule through River", http.StatusServiceUnavailable)
		return
	}
	u.once.Do(func() {
		var start func(context.Context) error
		u.h, start, u.err = s.q.ui(slog.New(minLevel{slog.LevelWarn, s.log.Handler()}))
		if u.err == nil {
			u.err = start(s.runCtx)
		}
		if u.err != nil {
			s.log.Error("riverui: " + u.err.Error())
		}
	})
	if u.err != nil {
		http.Error(w, "riverui is not built: "+u.err.Error(), http.StatusServiceUnavailable)
		return
	}
	u.h.ServeHTTP(w, r)
}

func (u *riverUI) authorised(r *http.Request) bool {
	want := []byte(u.s.o.AdminToken)
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(tok), want) == 1
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return subtle.ConstantTimeCompare([]byte(pass), want) == 1
	}
	return false
}
