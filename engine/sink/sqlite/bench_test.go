package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

const benchRows = 100_000

// benchTable has ten columns of the usual CRM mix.
func benchTable(name string) *sink.Table {
	return &sink.Table{Name: name, PrimaryKey: []string{"id"}, Columns: []sink.Column{
		{Name: "id", Type: value.String}, {Name: "email", Type: value.Email}, {Name: "first_name", Type: value.String},
		{Name: "last_name", Type: value.String}, {Name: "visits", Type: value.Integer}, {Name: "amount", Type: value.Decimal},
		{Name: "score", Type: value.Float}, {Name: "active", Type: value.Boolean}, {Name: "updated_at", Type: value.Datetime},
		{Name: "props", Type: value.JSON},
	}}
}

func benchData() []sink.Row {
	rows := make([]sink.Row, benchRows)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		id := strconv.Itoa(1_000_000 + i)
		rows[i] = row(id, "user"+id+"@example.com", "First"+id, "Last", int64(i), decimal.New(int64(i)*37, -2),
			float64(i)/7, i%2 == 0, at.Add(time.Duration(i)*time.Second), json.RawMessage(`{"source":"web","n":`+id+`}`))
	}
	return rows
}

func BenchmarkUpsert(b *testing.B) {
	data := benchData()
	for _, size := range []int{500, 5000} {
		for _, unchanged := range []bool{false, true} {
			name := fmt.Sprintf("batch=%d/fresh", size)
			if unchanged {
				name = fmt.Sprintf("batch=%d/unchanged", size)
			}
			b.Run(name, func(b *testing.B) {
				d, _ := openTemp(b)
				load := func(tb *sink.Table) sink.Result {
					var total sink.Result
					for i := 0; i < len(data); i += size {
						res := mustWrite(b, d, &sink.Batch{SyncID: 1, Table: tb, Rows: data[i:min(i+size, len(data))]})
						total.Created += res.Created
						total.Updated += res.Updated
						total.Unchanged += res.Unchanged
					}
					return total
				}
				tb := benchTable("contacts")
				mustPrepare(b, d, tb)
				if unchanged {
					load(tb)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for n := range b.N {
					if !unchanged {
						b.StopTimer()
						tb = benchTable(fmt.Sprintf("contacts_%d", n))
						mustPrepare(b, d, tb)
						b.StartTimer()
					}
					res := load(tb)
					if (unchanged && res.Unchanged != benchRows) || (!unchanged && res.Created != benchRows) {
						b.Fatalf("counts: %+v", res)
					}
				}
				b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
