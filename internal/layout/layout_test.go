package layout

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const mod = "github.com/healthsync/healthsync/"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string // without tests
	Deps       []string
	Standard   bool
}

func packages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var ps []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestImportRules(t *testing.T) {
	ps := packages(t)
	if len(ps) < 15 {
		t.Fatalf("found only %d packages", len(ps))
	}
	for _, p := range ps {
		path := strings.TrimPrefix(p.ImportPath, mod)
		// The engine, receiver, notifier and daemon take the store's
		// interfaces (sync/store); only the bbolt backend knows bbolt, and
		// cmd/healthsync opens it.
		if strings.HasPrefix(path, "sync/") && path != "sync/store/bolt" {
			if i := slices.IndexFunc(p.Deps, usesBolt); i >= 0 {
				t.Errorf("%s depends on %s: only sync/store/bolt uses bbolt; take the interfaces of sync/store", path, p.Deps[i])
			}
		}
		if path == "sync" {
			t.Errorf("a package named sync shadows the standard library's")
		}
		for _, d := range p.Deps {
			dep, ours := strings.CutPrefix(d, mod)
			switch {
			case path == "scoring" || path == "connectors/record" || path == "config":
				if ours && dep != "connectors/record" && !(path == "config" && dep == "scoring") {
					t.Errorf("%s imports %s: it must stay a leaf (record%s only)", path, dep, map[bool]string{true: ", scoring", false: ""}[path == "config"])
				}
			case strings.HasPrefix(path, "connectors/"):
				if ours && strings.HasPrefix(dep, "sync/") {
					t.Errorf("%s imports %s: connectors never import sync", path, dep)
				}
			}
			if path == "connectors/internal/fakeapi" && (dep == "testing" || ours) {
				t.Errorf("%s imports %s: the fakes' harness uses the standard library only (the demo links it)", path, dep)
			}
			if strings.HasSuffix(path, "test") && strings.HasPrefix(path, "connectors/") {
				vendor := path[:strings.LastIndex(path, "/")]
				if dep == "testing" {
					t.Errorf("fake %s imports testing (the demo links it)", path)
				}
				if ours && dep == vendor {
					t.Errorf("fake %s imports its own client %s", path, vendor)
				}
			}
			if ours && strings.HasPrefix(dep, "cmd/") {
				t.Errorf("%s imports the command %s", path, dep)
			}
		}
	}
}

// usesBolt reports whether an import path is bbolt or the bbolt backend.
func usesBolt(dep string) bool {
	return dep == mod+"sync/store/bolt" || strings.HasPrefix(dep, mod+"sync/store/bolt/") ||
		dep == "go.etcd.io/bbolt" || strings.HasPrefix(dep, "go.etcd.io/bbolt/")
}

// vendorFree are the packages that decide by a connector's capabilities
// (record.Capabilities, record.Event.OrderKey), never by its vendor: a new
// connector is its own folder plus one row in cmd/healthsync/wire.go.
var vendorFree = []string{"sync/engine", "sync/webhook"}

// TestNoVendorNamesInSyncCore checks that the code (not the comments) of
// vendorFree packages names no vendor: no identifier (record.Stripe,
// config.KindHubSpot) and no string literal ("salesforce_...") containing
// the name of a connectors/<vendor> package. Tests may name vendors.
func TestNoVendorNamesInSyncCore(t *testing.T) {
	ps := packages(t)
	var vendors []string
	for _, p := range ps {
		path := strings.TrimPrefix(p.ImportPath, mod)
		if rest, ok := strings.CutPrefix(path, "connectors/"); ok && !strings.Contains(rest, "/") &&
			rest != "record" && rest != "httpclient" && rest != "internal" {
			vendors = append(vendors, rest)
		}
	}
	if len(vendors) < 4 {
		t.Fatalf("found only vendors %v", vendors)
	}
	// A vendor named by a word of the domain itself (Segment; report
	// segments) is checked by the import rules alone: the engine may not
	// import connectors/segment, but may say "segment".
	vendors = slices.DeleteFunc(vendors, func(v string) bool { return v == "segment" })
	for _, p := range ps {
		path := strings.TrimPrefix(p.ImportPath, mod)
		if !contains(vendorFree, path) {
			continue
		}
		for _, f := range p.GoFiles {
			for _, hit := range vendorNames(t, filepath.Join(p.Dir, f), vendors) {
				t.Errorf("%s/%s:%s: decide by the connector's capabilities, not its vendor", path, f, hit)
			}
		}
	}
}

// vendorNames lists the identifiers and string literals of a Go file
// (comments are not parsed) that contain a vendor name, with positions.
func vendorNames(t *testing.T, file string, vendors []string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	check := func(pos token.Pos, s string) {
		for _, v := range vendors {
			if strings.Contains(strings.ToLower(s), v) {
				p := fset.Position(pos)
				hits = append(hits, strconv.Itoa(p.Line)+":"+strconv.Itoa(p.Column)+" "+strconv.Quote(s))
				return
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			// An import of a vendor package is the import rules' concern
			// (and would show up as a selector).
			return false
		case *ast.Ident:
			check(n.Pos(), n.Name)
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil {
					check(n.Pos(), s)
				}
			}
		}
		return true
	})
	return hits
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
