package fakeapi

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// Forever is a Fault Delay that holds the request until the client gives
// up or the fake closes: a request that never gets an answer.
const Forever = time.Duration(math.MaxInt64)

// Fault makes the next Times requests that match Method and Path misbehave:
// wait Delay, then answer Status with the vendor's error body, or a 200
// with a body cut short (Malformed), or, with neither, be served normally
// (a slow answer, or the vendor's own Kind of misbehaviour).
type Fault struct {
	// Method is the HTTP method to match ("" matches any).
	Method string
	// Path is matched against the request's URL path by the fake's
	// PathMatch ("" matches any path).
	Path string
	// Times is how many requests the fault hits (default 1).
	Times int
	// Delay holds the request this long (or until the client gives up)
	// before the rest of the fault applies; Forever never answers.
	Delay time.Duration
	// Status is answered through the vendor's error writer.
	Status int
	// Code is the vendor's error code or policy for the body (the vendor
	// picks one from Status when empty).
	Code string
	// Malformed answers 200 with a truncated body instead.
	Malformed bool
	// Kind names a vendor-specific misbehaviour that the vendor's handler
	// applies to a request served normally; it reads it with FaultOf.
	Kind string
}

// PathMatch reports whether a request path matches a fault's Path.
type PathMatch func(path, faultPath string) bool

// MatchExact matches the path exactly.
func MatchExact(path, faultPath string) bool { return path == faultPath }

// MatchPrefix matches paths that start with the fault's Path.
func MatchPrefix(path, faultPath string) bool { return strings.HasPrefix(path, faultPath) }

// MatchContains matches paths that contain the fault's Path anywhere, for
// APIs whose paths carry a version (/services/data/v62.0/query).
func MatchContains(path, faultPath string) bool { return strings.Contains(path, faultPath) }

// InjectFault queues f; faults apply in the order injected, the first
// match wins.
func (h *Harness) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, &f)
}

// takeFault uses up one hit of the first fault matching r.
func (h *Harness) takeFault(r *http.Request) (Fault, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, f := range h.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.Path != "" && !h.cfg.Match(r.URL.Path, f.Path) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			h.faults = append(h.faults[:i], h.faults[i+1:]...)
		}
		return *f, true
	}
	return Fault{}, false
}

type faultKey struct{}

// FaultOf returns the fault that hit r when r is served normally under a
// fault (one with only a Delay or a Kind).
func FaultOf(r *http.Request) (Fault, bool) {
	f, ok := r.Context().Value(faultKey{}).(Fault)
	return f, ok
}
