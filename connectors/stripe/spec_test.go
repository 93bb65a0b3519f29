package stripe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specPath is the part of Stripe's spec3.json the client's requests touch
// (testdata/SOURCE.md says where it comes from and how it was cut). A
// missing or unreadable file fails every test that validates a request.
const specPath = "testdata/spec3.subset.json"

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
	// specArrays are query parameters the document declares as deepObject
	// arrays (expand, types, ...).
	specArrays = map[string]bool{}
)

// loadSpec loads spec3.json once per test binary. Stripe encodes arrays as
// name[]=v (or name[0]=v) and declares them style deepObject, which
// kin-openapi only supports for objects; the loaded document declares them
// as exploded form arrays instead and the validator rewrites name[]=v to
// name=v before validating, which checks the same values against the same
// item schema.
func loadSpec() (routers.Router, error) {
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile(specPath)
		if err != nil {
			specErr = err
			return
		}
		for _, pi := range doc.Paths.Map() {
			for _, op := range pi.Operations() {
				for _, p := range op.Parameters {
					if p.Value.Style == "deepObject" && p.Value.Schema != nil && p.Value.Schema.Value.Type.Is("array") {
						p.Value.Style = "form"
						specArrays[p.Value.Name] = true
					}
				}
			}
		}
		doc.Servers = openapi3.Servers{{URL: "http://stripe.invalid"}}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

// specTransport validates every request against spec3.json before sending
// it on, and records the problems.
type specTransport struct {
	base http.RoundTripper

	mu       sync.Mutex
	problems []string
	requests []string
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := validateRequest(req); err != nil {
		s.mu.Lock()
		s.problems = append(s.problems, fmt.Sprintf("%s %s: %v", req.Method, req.URL.RequestURI(), err))
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.requests = append(s.requests, req.Method+" "+req.URL.RequestURI())
	s.mu.Unlock()
	return s.base.RoundTrip(req)
}

func (s *specTransport) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("no request was validated")
	}
	for _, p := range s.problems {
		t.Errorf("request does not match spec3.json: %s", p)
	}
}

func validateRequest(req *http.Request) error {
	router, err := loadSpec()
	if err != nil {
		return err
	}
	r := req.Clone(context.Background())
	u := *req.URL
	u.Scheme, u.Host = "http", "stripe.invalid"
	q := req.URL.Query()
	norm := url.Values{}
	for k, v := range q {
		name, sub, _ := strings.Cut(k, "[")
		switch {
		case specArrays[name]:
			norm[name] = append(norm[name], v...)
		case sub != "":
			// deepObject object keys, e.g. created[gte]: the document's
			// anyOf(object, integer) is not checked by kin-openapi, so
			// check the range keys and integers here.
			key := strings.TrimSuffix(sub, "]")
			if key != "gt" && key != "gte" && key != "lt" && key != "lte" {
				return fmt.Errorf("parameter %s: unknown key %q", name, key)
			}
			for _, x := range v {
				if _, err := strconv.ParseInt(x, 10, 64); err != nil {
					return fmt.Errorf("parameter %s: %q is not an integer", k, x)
				}
			}
			norm[k] = v
		default:
			norm[k] = v
		}
	}
	u.RawQuery = norm.Encode()
	r.URL = &u
	route, params, err := router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("no such operation: %w", err)
	}
	declared := map[string]bool{}
	for _, p := range route.Operation.Parameters {
		declared[p.Value.Name] = true
	}
	for k := range norm {
		name, _, _ := strings.Cut(k, "[")
		if !declared[name] {
			return fmt.Errorf("undeclared query parameter %q", k)
		}
	}
	if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
		return fmt.Errorf("no bearer authorization")
	}
	if req.Header.Get("Stripe-Version") == "" {
		return fmt.Errorf("no Stripe-Version header")
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// TestSpecLoads fails when the bundled spec is missing or unreadable, so a
// lost file can never pass as "nothing to validate".
func TestSpecLoads(t *testing.T) {
	if _, err := loadSpec(); err != nil {
		t.Fatalf("loading %s: %v", specPath, err)
	}
}

func TestSpecValidatorRejects(t *testing.T) {
	for _, tc := range []struct {
		name, uri string
		ok        bool
	}{
		{"list with expand", "/v1/subscriptions?limit=100&status=all&expand[]=data.items.data.price.tiers", true},
		{"bad enum", "/v1/subscriptions?status=bogus", false},
		{"bad integer", "/v1/customers?limit=ten", false},
		{"undeclared parameter", "/v1/customers?page=2", false},
		{"created range", "/v1/events?created[gte]=1700000000&types[]=invoice.paid", true},
		{"created not integer", "/v1/events?created[gte]=yesterday", false},
		{"unknown path", "/v1/nothing", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1"+tc.uri, nil)
			req.Header.Set("Authorization", "Bearer sk_test_x")
			req.Header.Set("Stripe-Version", "2020-08-27")
			err := validateRequest(req)
			if (err == nil) != tc.ok {
				t.Fatalf("validate %s: err = %v, want ok=%v", tc.uri, err, tc.ok)
			}
		})
	}
}
