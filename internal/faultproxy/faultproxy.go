// Package faultproxy is a reverse proxy on 127.0.0.1 in front of a vendor
// fake that loses chosen answers: it forwards a request, lets the fake carry
// it out, and then drops the answer, holds it past the client's timeout, or
// resets the connection before forwarding. It proves exactly-once effects
// by experiment: a client that retries blindly after a lost answer creates
// duplicates the fake then holds. It imports no "testing", so a soak
// command can use it too.
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what happens to a chosen request.
type Fault int

// Faults.
const (
	// DropAnswer forwards the request, then closes the connection without
	// an answer: the fake did the work, the client sees EOF.
	DropAnswer Fault = iota + 1
	// Timeout forwards the request, then holds the connection for
	// Options.Hold (or until the client gives up) and closes it.
	Timeout
	// Reset closes the connection without forwarding: nothing was done.
	Reset
)

func (f Fault) String() string {
	switch f {
	case DropAnswer:
		return "drop_answer"
	case Timeout:
		return "timeout"
	case Reset:
		return "reset"
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Rule chooses requests to fail. A request matches when its method equals
// Method ("" any) and its path ends with PathSuffix ("" any). Of the
// matching requests, those numbered in Nth (1-based, in arrival order) fail,
// and each other one fails with probability Rate, drawn from Options.Seed.
type Rule struct {
	Method     string
	PathSuffix string
	Fault      Fault
	Nth        []int
	Rate       float64
}

func (r Rule) matches(req *http.Request) bool {
	return (r.Method == "" || r.Method == req.Method) && strings.HasSuffix(req.URL.Path, r.PathSuffix)
}

// Options configure a Proxy.
type Options struct {
	// Target is the fake's base URL (http://127.0.0.1:PORT).
	Target string
	Rules  []Rule
	// Seed makes Rate draws repeatable.
	Seed uint64
	// Hold is how long a Timeout keeps the connection (default 2s); set it
	// above the client's per-attempt timeout.
	Hold time.Duration
}

// Stats count, per rule (by index), the requests that matched and the
// faults injected.
type Stats struct {
	Matched  []int `json:"matched"`
	Injected []int `json:"injected"`
	// Forwarded counts every request passed to the target, faulted or not.
	Forwarded int `json:"forwarded"`
}

// Total is the number of faults injected by every rule.
func (s Stats) Total() int {
	n := 0
	for _, v := range s.Injected {
		n += v
	}
	return n
}

// Proxy is a running fault-injecting proxy. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL; point the client at it instead of the
	// fake. The fake's URL in answers (instance URLs, paging links) is
	// rewritten to it.
	URL string

	target *url.URL
	opts   Options
	rp     *httputil.ReverseProxy
	srv    *http.Server
	ln     net.Listener
	done   chan struct{}

	mu    sync.Mutex // guards rng and stats
	rng   *rand.Rand
	stats Stats
}

// New starts a proxy on 127.0.0.1 in front of o.Target.
func New(o Options) (*Proxy, error) {
	t, err := url.Parse(o.Target)
	if err != nil || t.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not a base URL", o.Target)
	}
	if o.Hold <= 0 {
		o.Hold = 2 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening: %w", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), target: t, opts: o, ln: ln, done: make(chan struct{}),
		rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	p.stats.Matched = make([]int, len(o.Rules))
	p.stats.Injected = make([]int, len(o.Rules))
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(t)
			r.Out.Host = t.Host
			// Answers are rewritten: let the transport decompress them.
			r.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: p.rewriteBody,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		p.srv.Serve(ln)
	}()
	return p, nil
}

// Close stops the proxy and waits for it.
func (p *Proxy) Close() {
	p.srv.Close()
	<-p.done
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Matched: append([]int(nil), p.stats.Matched...), Injected: append([]int(nil), p.stats.Injected...),
		Forwarded: p.stats.Forwarded}
}

// choose returns the fault for req (0: none) and counts it.
func (p *Proxy) choose(req *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.opts.Rules {
		if !r.matches(req) {
			continue
		}
		p.stats.Matched[i]++
		n := p.stats.Matched[i]
		hit := false
		for _, k := range r.Nth {
			hit = hit || k == n
		}
		if !hit && r.Rate > 0 {
			hit = p.rng.Float64() < r.Rate
		}
		if hit {
			p.stats.Injected[i]++
			if r.Fault != Reset {
				p.stats.Forwarded++
			}
			return r.Fault
		}
	}
	p.stats.Forwarded++
	return 0
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f := p.choose(r)
	switch f {
	case 0:
		p.rp.ServeHTTP(w, r)
		return
	case DropAnswer, Timeout:
		// The fake carries the request out; its answer goes nowhere.
		p.rp.ServeHTTP(&discard{h: http.Header{}}, r)
		if f == Timeout {
			select {
			case <-time.After(p.opts.Hold):
			case <-r.Context().Done():
			}
		}
	}
	hijack(w)
}

// hijack closes the client's connection without an answer.
func hijack(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // a reset, not an orderly close
	}
	conn.Close()
}

// rewriteBody replaces the target's base URL with the proxy's in answers,
// so instance URLs and paging links lead back through the proxy.
func (p *Proxy) rewriteBody(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", strings.ReplaceAll(loc, p.opts.Target, p.URL))
	}
	if resp.Body == nil {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("faultproxy: reading answer: %w", err)
	}
	b = bytes.ReplaceAll(b, []byte(p.opts.Target), []byte(p.URL))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
