package layout

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/healthsync/healthsync/"

type pkg struct {
	ImportPath string
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
