package convert_test

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/tidwall/gjson"
)

func ExampleConverter_FromJSON() {
	amount, _ := convert.New(convert.Spec{Type: value.Decimal})
	phone, _ := convert.New(convert.Spec{Type: value.Phone})
	when, _ := convert.New(convert.Spec{Type: value.Datetime})
	rec := `{"amount":"$1,250.00","phone":"(415) 555-2671","updated":1704164645123,"closed":"N/A"}`
	for _, f := range []struct {
		c    *convert.Converter
		path string
	}{{amount, "amount"}, {phone, "phone"}, {when, "updated"}, {when, "closed"}} {
		v, err := f.c.FromJSON(gjson.Get(rec, f.path))
		fmt.Println(f.path, v, err)
	}
	// Output:
	// amount 1250 <nil>
	// phone +14155552671 <nil>
	// updated 2024-01-02 03:04:05.123 +0000 UTC <nil>
	// closed <nil> <nil>
}
