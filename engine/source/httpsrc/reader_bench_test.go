package httpsrc

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// BenchmarkReadHubSpot reads 20 cursor pages of 500 HubSpot contacts over
// loopback: HTTP, JSON validation, record splitting and pagination; with
// error_when, also the shipped pipeline's body?.status == "error" on
// every body.
func BenchmarkReadHubSpot(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchReadHubSpot(b, hubspotList) })
	withErrorWhen := strings.Replace(hubspotList, "  records: results\n", "  records: results\n  error_when: 'body?.status == \"error\"'\n", 1)
	b.Run("error_when", func(b *testing.B) { benchReadHubSpot(b, withErrorWhen) })
}

func benchReadHubSpot(b *testing.B, yml string) {
	const pages, per = 20, 500
	bodies := make([][]byte, pages)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for p := range pages {
		var sb strings.Builder
		sb.WriteString(`{"results":[`)
		for i := range per {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(contact{id: p*per + i, ts: base.Add(time.Duration(p*per+i) * time.Second)}.json())
		}
		sb.WriteString("]")
		if p < pages-1 {
			fmt.Fprintf(&sb, `,"paging":{"next":{"after":"%d","link":"?after=%d"}}`, (p+1)*per, (p+1)*per)
		}
		sb.WriteString("}")
		bodies[p] = []byte(sb.String())
	}
	t := &testing.T{}
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		writeJSON(w, 200, bodies[after/per])
	})
	defer api.Close()
	p, _ := pipeline(t, yml, api.URL, map[string]string{"HUBSPOT_TOKEN": "tok"})
	o, probs := compileEntityOf(t, p)
	if o == nil {
		b.Fatal(probs)
	}
	r, _ := o.Open(context.Background(), &source.Env{})
	var bytes int64
	for _, body := range bodies {
		bytes += int64(len(body))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	records := 0
	for range b.N {
		err := r.Read(context.Background(), source.ReadState{}, func(pg source.Page) error {
			records += len(pg.Records)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}
