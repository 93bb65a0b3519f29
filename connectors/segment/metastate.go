package segment

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/healthsync/healthsync/connectors/record"
)

// KV is the part of healthsync's store a MetaState needs: its named meta
// values (store.Meta), one transaction per call.
type KV interface {
	Meta(key string) ([]byte, error)
	SetMeta(key string, val []byte) error
}

// MetaState is a State kept in the store's meta values, so links and
// distinct sets survive a restart without a store schema of their own:
//
//	segment/<connector>/group/<groupId>                  -> account key ("salesforce/001...")
//	segment/<connector>/user/<userId>                    -> groupId
//	segment/<connector>/distinct/<account>|<metric>|<unix> -> JSON list of members, sorted
//
// Read-modify-write of a distinct set is guarded by the lock of its stripe
// (locks, by a hash of the set's key; one held at a time), so one process
// never loses a member while requests for different sets run in parallel;
// two processes sharing a PostgreSQL store may, in a race, store a set one
// member short until the set's next call.
type MetaState struct {
	kv     KV
	prefix string
	locks  [64]sync.Mutex
}

// NewMetaState returns the State of the Segment connector named connector
// over kv.
func NewMetaState(kv KV, connector string) *MetaState {
	return &MetaState{kv: kv, prefix: "segment/" + connector + "/"}
}

// PutLinks implements State.
func (m *MetaState) PutLinks(links []Link) error {
	for _, l := range links {
		key, val := m.prefix+"group/"+l.GroupID, l.Account.Key()
		if l.UserID != "" {
			key, val = m.prefix+"user/"+l.UserID, l.GroupID
		}
		old, err := m.kv.Meta(key)
		if err != nil {
			return fmt.Errorf("reading segment link: %w", err)
		}
		if string(old) == val {
			continue
		}
		if err := m.kv.SetMeta(key, []byte(val)); err != nil {
			return fmt.Errorf("storing segment link: %w", err)
		}
	}
	return nil
}

// Resolve implements State.
func (m *MetaState) Resolve(groupID, userID string) (record.Ref, bool, error) {
	if groupID == "" {
		g, err := m.kv.Meta(m.prefix + "user/" + userID)
		if err != nil {
			return record.Ref{}, false, fmt.Errorf("reading segment user link: %w", err)
		}
		if len(g) == 0 {
			return record.Ref{}, false, nil
		}
		groupID = string(g)
	}
	a, err := m.kv.Meta(m.prefix + "group/" + groupID)
	if err != nil {
		return record.Ref{}, false, fmt.Errorf("reading segment group link: %w", err)
	}
	sys, id, ok := strings.Cut(string(a), "/")
	if !ok {
		return record.Ref{}, false, nil
	}
	return record.Ref{System: sys, ID: id}, true, nil
}

// AddDistinct implements State: one read and at most one write per set.
func (m *MetaState) AddDistinct(members []Member) (map[DistinctKey]int, error) {
	byKey := map[DistinctKey][]string{}
	var order []DistinctKey
	for _, mb := range members {
		if _, ok := byKey[mb.Key]; !ok {
			order = append(order, mb.Key)
		}
		byKey[mb.Key] = append(byKey[mb.Key], mb.Value)
	}
	out := make(map[DistinctKey]int, len(order))
	for _, k := range order {
		key := m.prefix + "distinct/" + k.Account.Key() + "|" + k.Metric + "|" + strconv.FormatInt(k.Window.Unix(), 10)
		n, err := m.addTo(key, byKey[k])
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

// addTo adds values to the set stored under key, under its stripe's lock,
// and returns the set's size.
func (m *MetaState) addTo(key string, values []string) (int, error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	mu := &m.locks[h.Sum32()%uint32(len(m.locks))]
	mu.Lock()
	defer mu.Unlock()
	b, err := m.kv.Meta(key)
	if err != nil {
		return 0, fmt.Errorf("reading distinct set: %w", err)
	}
	var set []string
	if len(b) > 0 {
		if err := json.Unmarshal(b, &set); err != nil {
			return 0, fmt.Errorf("reading distinct set %s: %w", key, err)
		}
	}
	changed := false
	for _, v := range values {
		if i, found := slices.BinarySearch(set, v); !found {
			set = slices.Insert(set, i, v)
			changed = true
		}
	}
	if changed {
		b, _ := json.Marshal(set)
		if err := m.kv.SetMeta(key, b); err != nil {
			return 0, fmt.Errorf("storing distinct set: %w", err)
		}
	}
	return len(set), nil
}
