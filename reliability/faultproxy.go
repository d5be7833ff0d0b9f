package reliability

// faultproxy.go is an HTTP reverse proxy of our own that sits between the worker and one
// emulator (kinesalite, dynalite or the S3 emulator) and injects the faults real AWS
// produces, switchable at run time:
//
//   - partial PutRecords failures: a chosen fraction of a call's entries fail with
//     ProvisionedThroughputExceededException. Only the other entries are forwarded to the
//     emulator, and the emulator's results are merged back into a response with one result
//     per request entry, in request order — so what the stream holds is exactly what the
//     response says was written.
//   - whole-request errors: 500 InternalFailure, 503 ServiceUnavailable, 400 throttling
//     (ThrottlingException, ProvisionedThroughputExceededException), in the protocol's error
//     format: for the JSON protocols (Kinesis, DynamoDB) status, x-amzn-ErrorType header and
//     {"__type","message"} body, which the SDK reads as the error code; for S3 an XML
//     <Error><Code> body.
//   - latency added to every forwarded request.
//   - outages: every request answered 503, every connection reset, or the port closed so
//     that connections are refused (reopened on the same port when the outage ends).
//
// The emulators do not check request signatures, so the proxy may rewrite request bodies.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outage is how a proxy behaves while its service is down.
type Outage int

// Outages.
const (
	// Up: no outage.
	Up Outage = iota
	// Unavailable: every request is answered 503 ServiceUnavailable.
	Unavailable
	// Reset: every connection is closed (with a TCP reset) without an answer.
	Reset
	// Refused: the port is closed; connections are refused until the outage ends.
	Refused
)

func (o Outage) String() string {
	switch o {
	case Unavailable:
		return "unavailable (503)"
	case Reset:
		return "connections reset"
	case Refused:
		return "connections refused"
	}
	return "up"
}

// HTTPError is an error response the proxy sends instead of forwarding a request.
type HTTPError struct {
	Status int
	Code   string // AWS error code, e.g. "ThrottlingException"
}

// Error responses as AWS sends them.
var (
	InternalFailure    = HTTPError{http.StatusInternalServerError, "InternalFailure"}
	ServiceUnavailable = HTTPError{http.StatusServiceUnavailable, "ServiceUnavailable"}
	Throttling         = HTTPError{http.StatusBadRequest, "ThrottlingException"}
	ThroughputExceeded = HTTPError{http.StatusBadRequest, "ProvisionedThroughputExceededException"}
	// S3's own codes for 500 and 503.
	S3InternalError = HTTPError{http.StatusInternalServerError, "InternalError"}
	S3SlowDown      = HTTPError{http.StatusServiceUnavailable, "SlowDown"}
)

// Faults is what a proxy injects. The zero value injects nothing.
type Faults struct {
	// Outage takes the service down entirely (every request, whatever Ops says).
	Outage Outage
	// Ops limits ErrorRate, Errors and Latency to these operations: the JSON protocols'
	// X-Amz-Target operation ("PutRecords", "GetRecords", "UpdateItem", ...) or, for S3,
	// "PutObject", "GetObject", "ListObjectsV2", "HeadObject", "HeadBucket" or the method.
	// Empty means every operation.
	Ops []string
	// ErrorRate is the fraction of matching requests answered with one of Errors (drawn at
	// random) instead of being forwarded.
	ErrorRate float64
	Errors    []HTTPError
	// Latency is added before each matching request is forwarded.
	Latency time.Duration
	// PutRecordsFailRate is the fraction of PutRecords entries that fail with
	// ProvisionedThroughputExceededException (the others are written).
	PutRecordsFailRate float64
}

func (f *Faults) matches(op string) bool { return len(f.Ops) == 0 || slices.Contains(f.Ops, op) }

// Stats counts what a proxy did.
type Stats struct {
	Requests       int            // requests received (outage answers included)
	Forwarded      int            // requests forwarded to the emulator
	InjectedErrors int            // requests answered with an injected error
	FailedEntries  int            // PutRecords entries failed on purpose
	OutageAnswers  int            // requests answered 503 or reset because of an outage
	Ops            map[string]int // requests received per operation
}

// Exchange is one recorded request (see Proxy.Record).
type Exchange struct {
	// At is when the proxy received the request, before forwarding it.
	At      time.Time
	Op      string
	Request []byte // the request body (JSON protocols; up to 64 KiB)
	Status  int    // the status answered (0 when the connection was reset)
}

// Proxy is a fault-injecting reverse proxy in front of one emulator. Its methods are safe
// for concurrent use.
type Proxy struct {
	target *url.URL
	rp     *httputil.ReverseProxy
	addr   string // host:port, kept across Refused outages

	mu     sync.Mutex
	faults Faults
	rnd    *rand.Rand
	stats  Stats
	srv    *http.Server // nil while connections are refused
	closed bool
	record map[string]bool // operations whose exchanges are recorded
	trace  []Exchange
}

type planKey struct{}

// putPlan says which entries of a PutRecords request the proxy failed.
type putPlan struct {
	failed []bool // per original entry
	stream string
}

// NewProxy starts a proxy for target (an emulator's base URL) on a free 127.0.0.1 port.
// seed makes the choice of failed requests and entries reproducible for a given sequence of
// requests. Close stops it.
func NewProxy(target string, seed uint64) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("fault proxy: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	p := &Proxy{target: u, addr: ln.Addr().String(), rnd: rand.New(rand.NewPCG(seed, 0x70726f7879))}
	p.stats.Ops = map[string]int{}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		Transport:      &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second, DisableCompression: true},
		ModifyResponse: p.mergePutRecords,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, HTTPError{http.StatusBadGateway, "BadGateway"}, "fault proxy: emulator unreachable: "+err.Error())
		},
	}
	p.serve(ln)
	return p, nil
}

// URL is the proxy's base URL, to use as the service endpoint.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Set replaces the faults injected from now on. Ending a Refused outage reopens the port.
func (p *Proxy) Set(f Faults) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("fault proxy: closed")
	}
	f.Ops = slices.Clone(f.Ops)
	f.Errors = slices.Clone(f.Errors)
	p.faults = f
	if f.Outage == Refused && p.srv != nil {
		_ = p.srv.Close() // closes the listener and every connection
		p.srv = nil
	}
	if f.Outage != Refused && p.srv == nil {
		ln, err := listenAgain(p.addr)
		if err != nil {
			return err
		}
		p.serve(ln)
	}
	return nil
}

// Clear ends every fault.
func (p *Proxy) Clear() error { return p.Set(Faults{}) }

// Faults returns the faults in force.
func (p *Proxy) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Ops = make(map[string]int, len(p.stats.Ops))
	for k, v := range p.stats.Ops {
		s.Ops[k] = v
	}
	return s
}

// Record starts recording the exchanges of the given operations (with their request
// bodies), for tests that check the order of calls, e.g. that a parent shard's SHARD_END
// checkpoint was written before its child was read.
func (p *Proxy) Record(ops ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.record == nil {
		p.record = map[string]bool{}
	}
	for _, op := range ops {
		p.record[op] = true
	}
}

// Recorded returns the exchanges recorded so far, in the order they were received.
func (p *Proxy) Recorded() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.trace)
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.srv != nil {
		err := p.srv.Close()
		p.srv = nil
		return err
	}
	return nil
}

// serve starts an http.Server on ln. Called with p.mu held (or before p is shared).
func (p *Proxy) serve(ln net.Listener) {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	p.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

// listenAgain reopens addr after a Refused outage. The port was ours a moment ago; another
// process grabbing it in between is unlikely but possible, so it retries briefly.
func listenAgain(addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fault proxy: reopen %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decision is what to do with one request, drawn under the lock.
type decision struct {
	outage  Outage
	err     *HTTPError
	latency time.Duration
	fail    []bool // PutRecords entries to fail; nil: forward the body as it is
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := operation(r)
	p.mu.Lock()
	recording := p.record[op]
	p.mu.Unlock()
	if recording {
		at := time.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "fault proxy: read request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p.mu.Lock()
			p.trace = append(p.trace, Exchange{At: at, Op: op, Request: body, Status: sw.status})
			p.mu.Unlock()
		}()
		w = sw
	}
	var body []byte
	if op == "PutRecords" {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			http.Error(w, "fault proxy: read request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	d := p.decide(op, body)

	switch d.outage {
	case Unavailable, Refused: // Refused: a request that raced the listener's close
		writeError(w, r, ServiceUnavailable, "fault proxy: service down")
		return
	case Reset:
		resetConn(w)
		return
	}
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if d.err != nil {
		writeError(w, r, *d.err, "fault proxy: injected "+d.err.Code)
		return
	}
	if d.fail != nil {
		p.forwardPartial(w, r, body, d.fail)
		return
	}
	p.forwarded()
	p.rp.ServeHTTP(w, r)
}

// decide draws the faults for one request and counts it.
func (p *Proxy) decide(op string, body []byte) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	p.stats.Ops[op]++
	f := &p.faults
	if f.Outage != Up {
		p.stats.OutageAnswers++
		return decision{outage: f.Outage}
	}
	var d decision
	if f.matches(op) {
		d.latency = f.Latency
		if f.ErrorRate > 0 && len(f.Errors) > 0 && p.rnd.Float64() < f.ErrorRate {
			e := f.Errors[p.rnd.IntN(len(f.Errors))]
			d.err = &e
			p.stats.InjectedErrors++
			return d
		}
	}
	if op == "PutRecords" && f.PutRecordsFailRate > 0 {
		n := countPutRecordsEntries(body)
		fail := make([]bool, n)
		some := false
		for i := range fail {
			if p.rnd.Float64() < f.PutRecordsFailRate {
				fail[i] = true
				some = true
				p.stats.FailedEntries++
			}
		}
		if some {
			d.fail = fail
		}
	}
	return d
}

// forwarded counts a request sent on to the emulator.
func (p *Proxy) forwarded() {
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
}

func countPutRecordsEntries(body []byte) int {
	var req struct {
		Records []json.RawMessage
	}
	if json.Unmarshal(body, &req) != nil {
		return 0
	}
	return len(req.Records)
}

// forwardPartial forwards the entries of a PutRecords request that are not failed and
// answers with every entry's result; mergePutRecords completes the emulator's answer.
func (p *Proxy) forwardPartial(w http.ResponseWriter, r *http.Request, body []byte, fail []bool) {
	var req map[string]json.RawMessage
	var records []json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || json.Unmarshal(req["Records"], &records) != nil || len(records) != len(fail) {
		p.forwarded()
		p.rp.ServeHTTP(w, r) // not a request we understand: let the emulator judge it
		return
	}
	var stream string
	_ = json.Unmarshal(req["StreamName"], &stream)
	plan := &putPlan{failed: fail, stream: stream}
	kept := make([]json.RawMessage, 0, len(records))
	for i, rec := range records {
		if !fail[i] {
			kept = append(kept, rec)
		}
	}
	if len(kept) == 0 {
		out, _ := json.Marshal(mergeResults(plan, nil, nil))
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("x-amzn-RequestId", requestID())
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		return
	}
	req["Records"], _ = json.Marshal(kept)
	newBody, _ := json.Marshal(req)
	r.Body = io.NopCloser(bytes.NewReader(newBody))
	r.ContentLength = int64(len(newBody))
	r.Header.Set("Content-Length", strconv.Itoa(len(newBody)))
	r.Header.Del("Accept-Encoding") // the answer is rewritten: keep it plain
	p.forwarded()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), planKey{}, plan)))
}

// mergePutRecords is the ReverseProxy's ModifyResponse: for a partly failed PutRecords it
// puts the failed entries' results back in their places.
func (p *Proxy) mergePutRecords(resp *http.Response) error {
	plan, _ := resp.Request.Context().Value(planKey{}).(*putPlan)
	if plan == nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("fault proxy: read PutRecords answer: %w", err)
	}
	var got map[string]json.RawMessage
	var results []json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil || json.Unmarshal(got["Records"], &results) != nil {
		return fmt.Errorf("fault proxy: PutRecords answer is not JSON with Records: %.200s", body)
	}
	out, err := json.Marshal(mergeResults(plan, got, results))
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("X-Amz-Crc32")
	resp.Header.Del("Content-Encoding")
	return nil
}

// mergeResults builds the PutRecords answer for the original request: the emulator's results
// (for the forwarded entries, in order) and a throughput error for each failed entry.
func mergeResults(plan *putPlan, got map[string]json.RawMessage, results []json.RawMessage) map[string]any {
	failedByUs := 0
	merged := make([]any, len(plan.failed))
	next := 0
	for i, failed := range plan.failed {
		if failed {
			failedByUs++
			merged[i] = map[string]string{
				"ErrorCode":    "ProvisionedThroughputExceededException",
				"ErrorMessage": "Rate exceeded for shard in stream " + plan.stream + " under account 000000000000. (fault proxy)",
			}
			continue
		}
		if next < len(results) {
			merged[i] = results[next]
		} else { // the emulator answered fewer results than entries: make it visible
			merged[i] = map[string]string{"ErrorCode": "InternalFailure", "ErrorMessage": "fault proxy: no result from the emulator"}
		}
		next++
	}
	out := map[string]any{}
	for k, v := range got {
		out[k] = v
	}
	emulatorFailed := 0
	if raw, ok := got["FailedRecordCount"]; ok {
		_ = json.Unmarshal(raw, &emulatorFailed)
	}
	out["FailedRecordCount"] = emulatorFailed + failedByUs
	out["Records"] = merged
	return out
}

// operation names the request's API operation: the JSON protocols' X-Amz-Target suffix, or
// for S3 the operation its method and path imply.
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:]
		}
		return t
	}
	path := strings.Trim(r.URL.Path, "/")
	hasKey := strings.Contains(path, "/")
	switch {
	case r.Method == http.MethodPut && hasKey:
		return "PutObject"
	case r.Method == http.MethodGet && hasKey:
		return "GetObject"
	case r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		return "ListObjectsV2"
	case r.Method == http.MethodHead && hasKey:
		return "HeadObject"
	case r.Method == http.MethodHead:
		return "HeadBucket"
	case r.Method == http.MethodPut:
		return "CreateBucket"
	}
	return r.Method
}

func isS3(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == "" }

// writeError answers r with e in its protocol's error format.
func writeError(w http.ResponseWriter, r *http.Request, e HTTPError, msg string) {
	h := w.Header()
	id := requestID()
	if isS3(r) {
		body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, e.Code, xmlEscape(msg), id)
		h.Set("Content-Type", "application/xml")
		h.Set("x-amz-request-id", id)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(e.Status)
		_, _ = io.WriteString(w, body)
		return
	}
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": msg})
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-ErrorType", e.Code+":http://internal.amazon.com/coral/com.amazon.coral.service/")
	h.Set("x-amzn-RequestId", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var reqIDs struct {
	mu sync.Mutex
	n  uint64
}

func requestID() string {
	reqIDs.mu.Lock()
	defer reqIDs.mu.Unlock()
	reqIDs.n++
	return fmt.Sprintf("faultproxy-%08d", reqIDs.n)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and Hijack through it) reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// resetConn closes the client's connection with a TCP reset, answering nothing.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
