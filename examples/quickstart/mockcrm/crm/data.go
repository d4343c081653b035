package crm

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Object is one CRM record, shaped like HubSpot's v3 objects: every
// property value is a string (or null), and the last-modified property
// orders the search endpoint.
type Object struct {
	ID         string             `json:"id"`
	Properties map[string]*string `json:"properties"`
	CreatedAt  string             `json:"createdAt"`
	UpdatedAt  string             `json:"updatedAt"`
	Archived   bool               `json:"archived"`

	modified time.Time
}

// Data is the generated content of the mock CRM, by object type.
type Data struct {
	Objects map[string][]*Object // sorted by last-modified time, then id
	// Modified names each object type's last-modified property.
	Modified map[string]string
}

// base is the first creation time: data never depends on the clock.
var base = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// Generate builds the data set from a seed: the same seed always gives
// the same records. A few records are messy on purpose (an email without a
// domain, a phone number in words, an amount of "N/A", …) so that the
// quick start shows warnings, rejects and filtered records.
func Generate(seed uint64, contacts, companies, deals int) *Data {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	d := &Data{Objects: map[string][]*Object{}, Modified: map[string]string{
		"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate",
	}}
	for i := 1; i <= companies; i++ {
		d.Objects["companies"] = append(d.Objects["companies"], g.company(i))
	}
	for i := 1; i <= contacts; i++ {
		d.Objects["contacts"] = append(d.Objects["contacts"], g.contact(i, companies))
	}
	for i := 1; i <= deals; i++ {
		d.Objects["deals"] = append(d.Objects["deals"], g.deal(i))
	}
	for _, list := range d.Objects {
		sort.SliceStable(list, func(a, b int) bool {
			if !list[a].modified.Equal(list[b].modified) {
				return list[a].modified.Before(list[b].modified)
			}
			return idLess(list[a].ID, list[b].ID)
		})
	}
	return d
}

func idLess(a, b string) bool {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x < y
}

type gen struct{ r *rand.Rand }

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// stamp returns the created and modified times of record i: modified a
// few days after created, so that the search order differs from id order.
func (g *gen) stamp(i int) (time.Time, time.Time) {
	created := base.Add(time.Duration(i)*97*time.Minute + time.Duration(g.r.IntN(3600))*time.Second)
	modified := created.Add(time.Duration(g.r.IntN(20*24)) * time.Hour).Add(time.Duration(g.r.IntN(1000)) * time.Millisecond)
	return created, modified
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func str(s string) *string { return &s }

func newObject(id int, created, modified time.Time, props map[string]*string, modifiedProp string) *Object {
	props["createdate"] = str(iso(created))
	props[modifiedProp] = str(iso(modified))
	props["hs_object_id"] = str(strconv.Itoa(id))
	return &Object{ID: strconv.Itoa(id), Properties: props, CreatedAt: iso(created), UpdatedAt: iso(modified), modified: modified}
}

var (
	firstNames = []string{"Ana", "Bob", "Chen", "Dana", "Eve", "Frank", "Gina", "Hank", "Iris", "José", "Kim", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vic", "Wes", "Xena", "Yusuf", "Zoë"}
	lastNames  = []string{"García", "O'Neil", "Wei", "Smith", "Miller", "Lopez", "Nguyen", "Kowalski", "Brown", "Patel", "Rossi", "Johnson", "Müller", "Kim", "Dubois", "Silva"}
	places     = []struct{ city, state, zip string }{
		{"Boston", "MA", "02134"}, {"Worcester", "MA", "01608"}, {"Providence", "RI", "02903"}, {"Hartford", "CT", "06103"},
		{"Albany", "NY", "12207"}, {"Newark", "NJ", "07102"}, {"Philadelphia", "PA", "19107"}, {"Baltimore", "MD", "21201"},
		{"Columbus", "OH", "43215"}, {"Chicago", "IL", "60601"}, {"Denver", "CO", "80202"}, {"Austin", "TX", "73301"},
	}
	companyWords = []string{"Summit", "Harbor", "Granite", "Maple", "Keystone", "Liberty", "Pioneer", "Cedar", "Atlas", "Beacon"}
	companyKinds = []string{"Roofing", "Siding", "Windows", "Exteriors", "Gutters", "Home Services"}
	stages       = []string{"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent", "closedwon", "closedlost"}
	lifecycle    = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"}
)

func (g *gen) phone() string {
	area := []string{"617", "508", "401", "860", "518", "973", "215", "410", "614", "312", "303", "512"}
	n := fmt.Sprintf("%s555%04d", g.pick(area), g.r.IntN(10000))
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("(%s) %s-%s", n[:3], n[3:6], n[6:])
	case 1:
		return fmt.Sprintf("%s.%s.%s", n[:3], n[3:6], n[6:])
	case 2:
		return "+1 " + n[:3] + " " + n[3:6] + " " + n[6:]
	}
	return n[:3] + "-" + n[3:6] + "-" + n[6:]
}

func (g *gen) contact(i, companies int) *Object {
	first, last := g.pick(firstNames), g.pick(lastNames)
	p := places[g.r.IntN(len(places))]
	local := strings.ToLower(strings.NewReplacer("'", "", "ü", "u", "í", "i", "ë", "e", "é", "e").Replace(first + "." + last))
	props := map[string]*string{
		"firstname": str(first), "lastname": str(last), "email": str(fmt.Sprintf("%s%d@example.com", local, i)),
		"phone": str(g.phone()), "city": str(p.city), "state": str(p.state), "zip": str(p.zip),
		"lifecyclestage":      str(g.pick(lifecycle)),
		"associatedcompanyid": str(strconv.Itoa(1 + g.r.IntN(max(companies, 1)))),
	}
	// The messy ones, at fixed places.
	switch i % 50 {
	case 7:
		props["email"] = str(local + "@example") // no top-level domain: rejected
	case 19:
		props["phone"] = str("call after 5pm") // not a phone number: a warning
	case 23:
		props["state"] = str("Mass.") // not a state: a warning
		props["zip"] = str("2134")    // lost its leading zero: a warning
	case 31:
		props["email"], props["phone"] = nil, nil // nothing to reach them by: filtered
	case 42:
		props["email"] = str(strings.ToUpper(local) + "@EXAMPLE.COM ") // fixed up, not rejected
	}
	created, modified := g.stamp(i)
	return newObject(i, created, modified, props, "lastmodifieddate")
}

func (g *gen) company(i int) *Object {
	name := g.pick(companyWords) + " " + g.pick(companyKinds)
	domain := strings.ToLower(strings.ReplaceAll(name, " ", "")) + strconv.Itoa(i) + ".example"
	p := places[g.r.IntN(len(places))]
	props := map[string]*string{
		"name": str(name), "domain": str(domain), "website": str("https://www." + domain),
		"phone": str(g.phone()), "city": str(p.city), "state": str(p.state), "zip": str(p.zip),
		"numberofemployees": str(strconv.Itoa(5 + g.r.IntN(400))),
		"annualrevenue":     str(fmt.Sprintf("%d000", 250+g.r.IntN(20000))),
	}
	switch i % 25 {
	case 11:
		props["website"] = str("www dot " + domain) // not a URL: a warning
	case 17:
		props["numberofemployees"] = str("about 40") // not an integer: a warning, stored as null
	}
	created, modified := g.stamp(i)
	return newObject(i, created, modified, props, "hs_lastmodifieddate")
}

func (g *gen) deal(i int) *Object {
	stage := g.pick(stages)
	amount := fmt.Sprintf("%d.%02d", 800+g.r.IntN(40000), g.r.IntN(100))
	created, modified := g.stamp(i)
	closeDate := created.AddDate(0, 0, 14+g.r.IntN(60)).Truncate(24 * time.Hour)
	props := map[string]*string{
		"dealname": str(fmt.Sprintf("%s %s – %s", g.pick(companyWords), g.pick([]string{"roof", "siding", "windows", "gutters"}), g.pick(lastNames))),
		"amount":   str(amount), "dealstage": str(stage), "pipeline": str("default"),
		"closedate": str(iso(closeDate)),
	}
	switch i % 40 {
	case 9:
		props["amount"] = str("N/A") // not a number: rejected
	case 21:
		props["amount"] = str("-150.00") // negative: rejected by min: 0
	case 33:
		props["closedate"] = str("next spring") // not a date: a warning
	}
	return newObject(i, created, modified, props, "hs_lastmodifieddate")
}
