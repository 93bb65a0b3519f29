package segment

import (
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Link is one identity link a group or identify call establishes: a group
// to an account (Account set) or a user to a group (UserID set).
type Link struct {
	GroupID string
	UserID  string     // set for a user -> group link
	Account record.Ref // set for a group -> account link
}

// DistinctKey names one distinct-count set: an account's metric in the
// window starting at Window (UTC).
type DistinctKey struct {
	Account record.Ref
	Metric  string
	Window  time.Time
}

// Member is one value added to a distinct set (a userId, a feature name).
type Member struct {
	Key   DistinctKey
	Value string
}

// State holds what the mapper must remember between requests. The store
// implements it later (one bucket or table per method family); it must be
// safe for concurrent use, and each method is one transaction.
type State interface {
	// PutLinks stores links; a link replaces the earlier one of the same
	// group (group -> account) or user (user -> group).
	PutLinks(links []Link) error
	// Resolve returns the account of groupID or, when groupID is "", of the
	// group userID was last linked to; ok is false when a link is missing.
	Resolve(groupID, userID string) (account record.Ref, ok bool, err error)
	// AddDistinct adds members to their sets and returns the size of every
	// set it touched, after the additions. Adding a member twice changes
	// nothing, so a redelivered call counts once.
	AddDistinct(members []Member) (map[DistinctKey]int, error)
}

// MemoryState is a State in memory, for tests and a single process. Its
// maps are guarded by mu, taken once per method.
type MemoryState struct {
	mu       sync.Mutex
	groups   map[string]record.Ref           // groupID -> account
	users    map[string]string               // userID -> groupID
	distinct map[DistinctKey]map[string]bool // set -> members
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{groups: map[string]record.Ref{}, users: map[string]string{}, distinct: map[DistinctKey]map[string]bool{}}
}

// PutLinks implements State.
func (m *MemoryState) PutLinks(links []Link) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range links {
		if l.UserID != "" {
			m.users[l.UserID] = l.GroupID
		} else {
			m.groups[l.GroupID] = l.Account
		}
	}
	return nil
}

// Resolve implements State.
func (m *MemoryState) Resolve(groupID, userID string) (record.Ref, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if groupID == "" {
		g, ok := m.users[userID]
		if !ok {
			return record.Ref{}, false, nil
		}
		groupID = g
	}
	a, ok := m.groups[groupID]
	return a, ok, nil
}

// AddDistinct implements State.
func (m *MemoryState) AddDistinct(members []Member) (map[DistinctKey]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[DistinctKey]int, len(members))
	for _, mb := range members {
		set := m.distinct[mb.Key]
		if set == nil {
			set = map[string]bool{}
			m.distinct[mb.Key] = set
		}
		set[mb.Value] = true
		out[mb.Key] = len(set)
	}
	return out, nil
}
