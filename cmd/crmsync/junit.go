package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
)

// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub Actions
// reporters): one testsuite per pipeline file, one testcase per entity.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
	seconds  float64
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

// writeJUnit writes the cases to path as JUnit XML.
func writeJUnit(path string, cases []testCase) error {
	root := junitSuites{Name: "crmsync test"}
	index := map[string]int{}
	var total float64
	for _, c := range cases {
		i, ok := index[c.File]
		if !ok {
			i = len(root.Suites)
			index[c.File] = i
			root.Suites = append(root.Suites, junitSuite{Name: c.Pipeline, File: c.File})
		}
		s := &root.Suites[i]
		name := c.Entity
		if name == "" {
			name = "fixtures"
		}
		jc := junitCase{Name: name, Classname: c.Pipeline, File: c.File, Time: seconds(c.Seconds)}
		switch c.Status {
		case testFailed:
			jc.Failure = &junitFailure{Message: c.Message, Type: "crmsync test", Text: strings.Join(append([]string{c.Message}, c.Details...), "\n")}
			s.Failures++
			root.Failures++
		case testSkipped:
			jc.Skipped = &junitSkipped{Message: c.Message}
			s.Skipped++
			root.Skipped++
		default:
			jc.SystemOut = c.Message
		}
		s.Tests++
		root.Tests++
		s.seconds += c.Seconds
		total += c.Seconds
		s.Cases = append(s.Cases, jc)
	}
	for i := range root.Suites {
		root.Suites[i].Time = seconds(root.Suites[i].seconds)
	}
	root.Time = seconds(total)
	b, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return err
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
