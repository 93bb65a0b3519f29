package segment

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// lockedKV is a KV safe for concurrent use, like the store's meta values.
type lockedKV struct {
	mu sync.Mutex
	m  mapKV
}

func (l *lockedKV) Meta(key string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Meta(key)
}

func (l *lockedKV) SetMeta(key string, val []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.SetMeta(key, val)
}

// TestMetaStateConcurrentDistinct: requests adding members to one set at
// once lose none (each set's read-modify-write holds its stripe's lock).
func TestMetaStateConcurrentDistinct(t *testing.T) {
	st := NewMetaState(&lockedKV{m: mapKV{}}, "product")
	key := DistinctKey{Account: record.Ref{System: record.Salesforce, ID: "001A"}, Metric: "active_users", Window: time.Unix(0, 0).UTC()}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := st.AddDistinct([]Member{{Key: key, Value: fmt.Sprintf("u%d-%d", g, i)}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := st.AddDistinct([]Member{{Key: key, Value: "u0-0"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[DistinctKey]int{key: 200}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("set sizes = %v, want %v", got, want)
	}
}
