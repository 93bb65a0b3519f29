package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// pingStore is a store whose database can be made unreachable: Ping fails
// while down is set.
type pingStore struct {
	store.Store
	down atomic.Bool
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (s *pingStore) Ping(context.Context) error {
	if s.down.Load() {
		return errDown
	}
	return nil
}

// TestReadyFollowsTheStore: /readyz is 503 while the store's database does
// not answer and 200 again once it does.
func TestReadyFollowsTheStore(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf("store: {path: %q}\nserver: {listen: \"127.0.0.1:0\", shutdown_timeout: 5s}\n"+
		"connectors:\n  - {name: billing, kind: stripe, base_url: \"http://127.0.0.1:1\", auth: {api_key: sk_test_x}, schedule: \"@every 1h\"}\n",
		filepath.Join(dir, "d.db"))
	cfg, err := config.Parse("d.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	bs, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	st := &pingStore{Store: bs}
	addr := serve(t, cfg, st)

	readyz := func() int {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		name string
		down bool
		want int
	}{
		{"store answers", false, http.StatusOK},
		{"database lost", true, http.StatusServiceUnavailable},
		{"database back", false, http.StatusOK},
	}
	for _, s := range steps {
		st.down.Store(s.down)
		if got := readyz(); got != s.want {
			t.Errorf("%s: /readyz %d, want %d", s.name, got, s.want)
		}
	}
}
