package transform

import (
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr"
)

type compiler struct {
	o        Options
	p        *Program
	problems []diag.Problem
	byName   map[string]*Field
	cfg      map[string]*config.Field
	refs     map[string][]string // expr field → field names it reads
}

func (c *compiler) add(path, code, format string, args ...any) {
	c.problems = append(c.problems, diag.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) fieldPath(name string) string {
	return c.o.Path + "/fields/" + config.Escape(name)
}

func (c *compiler) compile() {
	c.byName = map[string]*Field{}
	c.cfg = map[string]*config.Field{}
	c.refs = map[string][]string{}
	for i, cf := range c.o.Fields {
		f := &Field{Name: cf.Name, Index: i}
		c.p.fields = append(c.p.fields, f)
		c.p.fieldNames = append(c.p.fieldNames, cf.Name)
		c.byName[cf.Name] = f
		c.cfg[cf.Name] = cf
	}
	reserved := []string{"raw", "ctx"}
	if len(c.o.Lookups) > 0 {
		reserved = append(reserved, "lookup")
	}
	for _, name := range reserved {
		if _, clash := c.byName[name]; clash {
			c.add(c.fieldPath(name), "reserved-name", "field name %q is reserved for expressions (it names the %s)", name,
				map[string]string{"raw": "source record", "ctx": "sync context", "lookup": "source's lookups"}[name])
		}
	}
	// Pass 1: settings that need no other field.
	for _, f := range c.p.fields {
		c.compileStatic(f, c.cfg[f.Name])
	}
	// Pass 2: expression fields need the names and types of the others;
	// find what each reads, order them, then compile in that order.
	// A cycle is reported; the rest is compiled anyway, so that one lint
	// round shows every problem (a plan with a cycle never runs).
	order, _ := c.exprOrder()
	for _, f := range c.p.fields {
		if c.cfg[f.Name].Expr == "" {
			c.p.order = append(c.p.order, f)
		}
	}
	for _, f := range order {
		c.compileExpr(f, c.cfg[f.Name])
		c.p.order = append(c.p.order, f)
	}
	for _, f := range c.p.fields {
		c.compileChain(f, c.cfg[f.Name])
	}
	if c.o.Filter != "" {
		prog := c.expr(c.o.Path+"/filter", c.o.Filter, expr.AsBool())
		c.p.filter = prog
	}
	c.p.extract, c.p.parentExtract = newExtractor(), newExtractor()
	for _, f := range c.p.order {
		if f.prog != nil || f.path == "" {
			continue
		}
		if f.fromParent {
			f.slot = c.p.parentExtract.add(f.path)
		} else {
			f.slot = c.p.extract.add(f.path)
		}
		for i := range f.alts {
			c.addAlt(&f.alts[i])
		}
		if f.region != nil {
			c.addAlt(f.region)
		}
	}
	for _, k := range c.o.PrimaryKey {
		if f, ok := c.byName[k]; ok {
			c.p.idIdx = append(c.p.idIdx, f.Index)
			c.p.keyNames = append(c.p.keyNames, k)
		}
	}
	c.p.blankKeyOK = c.o.BlankKeyOK
	c.p.envSample = c.env()
}

func (c *compiler) addAlt(a *altPath) {
	if a.fromParent {
		a.slot = c.p.parentExtract.add(a.path)
	} else {
		a.slot = c.p.extract.add(a.path)
	}
}

func (c *compiler) compileStatic(f *Field, cf *config.Field) {
	path := c.fieldPath(f.Name)
	if cf.Path != "" && cf.Expr != "" {
		c.add(path, "conflicting-settings", "field %q sets both path and expr: a field is read from the record or computed, not both", f.Name)
	}
	if cf.Path == "" && cf.Expr == "" {
		cf.Path = f.Name // a field without a path reads the key of its own name
	}
	if cf.Path != "" {
		if msg := checkPath(cf.Path); msg != "" {
			c.add(path+pathSuffix(cf), "bad-gjson", "field %q: invalid path %q: %s", f.Name, cf.Path, msg)
		}
		f.path = cf.Path
		if rest, ok := strings.CutPrefix(cf.Path, "_parent."); ok {
			f.path, f.fromParent = rest, true
		}
		for i, alt := range cf.Fallbacks {
			if msg := checkPath(alt); msg != "" {
				c.add(fmt.Sprintf("%s/path/%d", path, i+1), "bad-gjson", "field %q: invalid path %q: %s", f.Name, alt, msg)
			}
			a := altPath{path: alt}
			if rest, ok := strings.CutPrefix(alt, "_parent."); ok {
				a.path, a.fromParent = rest, true
			}
			f.alts = append(f.alts, a)
		}
	} else if len(cf.Fallbacks) > 0 {
		c.add(path+"/path", "conflicting-settings", "field %q sets both path and expr: a field is read from the record or computed, not both", f.Name)
	}
	t, ok := value.Parse(cf.Type)
	if !ok {
		c.add(path+"/type", "unknown-type", "field %q: unknown type %q (types: %s)", f.Name, cf.Type, strings.Join(value.Names(), ", "))
	}
	f.Type = t
	if rf := cf.RegionFrom; rf != "" {
		switch {
		case t != value.Phone:
			c.add(path+"/region_from", "invalid-value", "field %q: region_from applies to phone fields, not %s", f.Name, t)
		case cf.Expr != "":
			c.add(path+"/region_from", "invalid-value", "field %q: region_from applies to a field read by path; an expr field can call to_e164(value, region)", f.Name)
		case checkPath(rf) != "":
			c.add(path+"/region_from", "bad-gjson", "field %q: invalid region_from path %q: %s", f.Name, rf, checkPath(rf))
		default:
			a := &altPath{path: rf}
			if rest, ok := strings.CutPrefix(rf, "_parent."); ok {
				a.path, a.fromParent = rest, true
			}
			f.region = a
		}
	}
	f.policy = c.o.OnInvalid
	if cf.OnInvalid != "" {
		f.policy, _ = ParsePolicy(cf.OnInvalid)
	}
	if c.o.Strict && f.policy == Warn {
		f.policy = Reject
	}
	switch cf.Poison {
	case "", PoisonModes[0]:
	case PoisonModes[1]:
		f.strip = true
	default:
		c.add(path+"/poison", "invalid-value", "field %q: poison is reject (the default: a value with a NUL byte or bytes that are not UTF-8 rejects the record) or strip (remove NUL bytes, replace bad bytes by U+FFFD), not %q", f.Name, cf.Poison)
	}
	if cf.Expr == "" || cf.Type != "" {
		c.converter(f, cf)
	}
}

// PoisonModes are the values of a field's poison: setting (reject first,
// the default).
var PoisonModes = []string{"reject", "strip"}

// pathSuffix points a finding at the path setting; a shorthand field (a
// bare string) has no /path node, and PosOf then finds the field itself.
func pathSuffix(*config.Field) string { return "/path" }

func (c *compiler) converter(f *Field, cf *config.Field) {
	path := c.fieldPath(f.Name)
	loc := c.o.Timezone
	if cf.Timezone != "" {
		l, err := time.LoadLocation(cf.Timezone)
		if err != nil {
			c.add(path+"/timezone", "bad-timezone", "field %q: unknown time zone %q (use an IANA name such as America/New_York)", f.Name, cf.Timezone)
		} else {
			loc = l
		}
	}
	region := c.o.Region
	if cf.DefaultRegion != "" {
		region = cf.DefaultRegion
	}
	conv, err := convert.New(convert.Spec{Type: f.Type, Layouts: cf.Format, Location: loc, Region: region})
	if err != nil {
		c.add(path, "invalid-value", "field %q: %v", f.Name, err)
		return
	}
	f.conv = conv
	if cf.Default != nil {
		def := cf.Default
		if cf.DefaultText != "" && textual(f.Type) {
			def = cf.DefaultText // YAML reads 02134 as a number; a text field wants the text
		}
		d, err := conv.FromValue(def)
		if err != nil {
			c.add(path+"/default", "invalid-default", "field %q: default %q: %v", f.Name, fmt.Sprint(cf.Default), err)
		}
		f.def = d
	}
}

// textual reports whether a type holds text as written.
func textual(t value.Type) bool {
	switch t {
	case value.String, value.Phone, value.Email, value.URL:
		return true
	}
	return false
}
