package httpsrc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/source"
)

// Defaults of an asynchronous job.
const (
	defaultJobEvery   = 2 * time.Second
	defaultJobTimeout = 10 * time.Minute
)

// jobSpec is a compiled job: an entity whose read starts a job on the
// server, polls it until it is done, then pages its results with the
// entity's request ({{ job.id }}). A job is never resumed: a read that
// starts again (after a crash, or on the next run) starts a new job,
// because job ids expire and their results with them.
type jobSpec struct {
	start, poll requestSpec
	id          string // gjson path of the id in the start response
	every       time.Duration
	timeout     time.Duration
	done, fail  *jobCond
	failMessage string // gjson path in the poll body; "" when unset
}

// jobCond is a compiled done_when or fail_when.
type jobCond struct {
	src, setting string
	prog         *vm.Program
}

func compileJob(spec *source.Spec, p *problems, o *opener, j *Job) *jobSpec {
	at := spec.Path + "/job"
	js := &jobSpec{id: j.ID, failMessage: j.FailMessage}
	if j.Start == nil {
		p.errf(at+"/start", "missing-setting", "job needs start: the request that starts the job (its response holds the job's id)")
	} else {
		js.start = compileJobRequest(spec, p, o, j.Start, at+"/start", false)
	}
	if j.Poll == nil {
		p.errf(at+"/poll", "missing-setting", "job needs poll: the request that asks for the job's state, repeated until done_when holds")
	} else {
		js.poll = compileJobRequest(spec, p, o, j.Poll, at+"/poll", true)
	}
	if j.ID == "" {
		p.errf(at+"/id", "missing-setting", "job needs id: the gjson path of the job's id in the start response (QueryExecutionId)")
	} else {
		p.path(at+"/id", "job.id", j.ID)
	}
	if j.FailMessage != "" {
		p.path(at+"/fail_message", "job.fail_message", j.FailMessage)
	}
	js.every = j.Every.Or(defaultJobEvery)
	if j.Every.Set && j.Every.Duration < 0 {
		p.errf(at+"/every", "invalid-value", "job.every must be 0 or more")
	}
	js.timeout = j.Timeout.Or(defaultJobTimeout)
	if j.Timeout.Set && j.Timeout.Duration <= 0 {
		p.errf(at+"/timeout", "invalid-value", "job.timeout must be above 0")
	}
	if j.DoneWhen == "" {
		p.errf(at+"/done_when", "missing-setting", `job needs done_when: an expression over the poll response that is true once the job's results are ready (Status.State == "SUCCEEDED")`)
	} else {
		js.done = compileJobCond(p, at+"/done_when", "done_when", j.DoneWhen)
	}
	if j.FailWhen != "" {
		js.fail = compileJobCond(p, at+"/fail_when", "fail_when", j.FailWhen)
	} else if j.FailMessage != "" {
		p.warnf(at+"/fail_message", "unused-setting", "fail_message is only read when fail_when matches")
	}
	return js
}

func compileJobCond(p *problems, at, setting, src string) *jobCond {
	if _, err := parser.Parse(src); err != nil {
		p.errf(at, "expr-syntax", "job.%s %q: %v", setting, src, oneLine(err))
		return nil
	}
	prog, err := expr.Compile(src, expr.AsBool())
	if err != nil {
		p.errf(at, "expr-type", "job.%s %q: %v (it sees the poll response's top-level keys and must give true or false)", setting, src, oneLine(err))
		return nil
	}
	return &jobCond{src: src, setting: setting, prog: prog}
}

// compileJobRequest compiles a start or poll request: the entity's
// method, path and headers rules without records or paging. {{ job.id }}
// is set for the poll, not for the start.
func compileJobRequest(spec *source.Spec, p *problems, o *opener, req *Request, at string, poll bool) requestSpec {
	rs := requestSpec{base: o.req.base}
	var tpls []*template
	rs.path = p.template(at+"/path", req.Path)
	tpls = append(tpls, &rs.path)
	rs.method = strings.ToUpper(req.Method)
	switch rs.method {
	case "":
		rs.method = "GET"
		if req.Body != nil {
			rs.method = "POST"
		}
	default:
		if !contains(Methods, rs.method) {
			p.errf(at+"/method", "invalid-value", "method %q is not supported: want %s", req.Method, strings.Join(Methods, " or "))
		}
	}
	for _, k := range sortedKeys(req.Params) {
		rs.params = append(rs.params, namedTemplate{k, p.template(at+"/params/"+escapePointer(k), req.Params[k])})
	}
	rs.headers = compileHeaders(p, "/source/headers", sourceOf(spec).Headers, nil)
	rs.headers = compileHeaders(p, at+"/headers", req.Headers, rs.headers)
	for i := range rs.params {
		tpls = append(tpls, &rs.params[i].t)
	}
	for i := range rs.headers {
		tpls = append(tpls, &rs.headers[i].t)
	}
	if req.Body != nil {
		body, probs := compileBody(req.Body, at+"/body")
		p.list = append(p.list, probs...)
		rs.body = body
		if rs.method == "GET" {
			p.errf(at+"/body", "invalid-value", "a request body needs method: POST")
		}
	}
	usesJob := rs.body.uses(varJob)
	usesParent := rs.body.uses(varParent)
	for _, t := range tpls {
		usesJob = usesJob || t.uses(varJob)
		usesParent = usesParent || t.uses(varParent)
	}
	if usesJob && !poll {
		p.errf(at, "bad-template", "{{ job.… }} is not set yet when the job starts: it is for job.poll and the entity's request")
	}
	if usesParent && spec.Entity.Parent == nil {
		p.errf(at, "bad-template", "{{ parent.… }} is only set for an entity read per parent record: add parent: {entity: <name>}")
	}
	return rs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runJob starts the entity's job and polls it until done_when holds; it
// sets {{ job.id }} and {{ job.<path> }} (the last poll body) in v. A job
// that fails, or does not finish within the timeout, is an error naming
// the entity, the job and the request; no page was emitted before it, so
// nothing is committed and nothing committed is lost.
func (r *reader) runJob(ctx context.Context, v *vars) error {
	j := r.o.job
	started := time.Now()
	st := step{job: "job start"}
	res, err := r.fetchStep(ctx, &j.start, v, &call{}, st)
	if err != nil {
		return err
	}
	id := gjson.Get(res.body, j.id)
	if !id.Exists() || id.Type == gjson.Null || id.String() == "" || id.IsObject() || id.IsArray() {
		return r.pageErr(res, st, fmt.Sprintf("the start response has no job id at %q (job.id)", j.id), true)
	}
	v.jobID, v.jobBody = id.String(), ""
	jobName := "job " + r.red.text(v.jobID)
	r.log.Info("job started", "entity", r.o.entity, "job", r.red.text(v.jobID))
	deadline := started.Add(j.timeout)
	for n := 1; ; n++ {
		st := step{job: fmt.Sprintf("%s: poll %d", jobName, n)}
		res, err := r.fetchStep(ctx, &j.poll, v, &call{}, st)
		if err != nil {
			return err
		}
		var body any
		if err := json.Unmarshal([]byte(res.body), &body); err != nil {
			return r.pageErr(res, st, "the poll response is not JSON", true)
		}
		env, ok := body.(map[string]any)
		if !ok {
			return r.pageErr(res, st, "the poll response is not a JSON object: done_when and fail_when read its keys", true)
		}
		if j.fail != nil && j.fail.holds(env) {
			msg := fmt.Sprintf("the job failed (fail_when %q)", j.fail.src)
			if j.failMessage != "" {
				if m := gjson.Get(res.body, j.failMessage); m.Exists() && m.String() != "" {
					msg += ": " + m.String()
				}
			}
			return r.pageErr(res, st, msg, j.failMessage == "")
		}
		if j.done.holds(env) {
			v.jobBody = res.body
			r.log.Info("job done", "entity", r.o.entity, "job", r.red.text(v.jobID), "polls", n,
				"took", time.Since(started).Round(time.Millisecond).String())
			return nil
		}
		if !time.Now().Add(j.every).Before(deadline) {
			return r.pageErr(res, st, fmt.Sprintf("the job did not finish within %s (job.timeout; done_when %q never held)", j.timeout, j.done.src), true)
		}
		if err := sleep(ctx, j.every); err != nil {
			return fmt.Errorf("entity %q: %s: %w", r.o.entity, st, err)
		}
	}
}

// holds runs the condition over the poll body's top-level keys. An
// expression that cannot be evaluated on this body (a key not there
// yet) does not hold.
func (c *jobCond) holds(env map[string]any) bool {
	if c == nil {
		return false
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}
