package config

import (
	"fmt"
	"sync"
)

// Kind is what configuration knows about one connector kind: how to fill
// its defaults and how to check the settings that apply to it. The table
// of kinds starts with the four built-in ones (their settings are part of
// this package's schema: login_url, site, organization_id, ...); a new
// connector kind brings its own from its vendor package and is registered
// by cmd/healthsync's wire table (RegisterKind), so that this package never
// imports a vendor package and its file tests need no wiring.
type Kind struct {
	// Defaults fills the kind's defaults before the common ones
	// (full_resync 7d, http and burst defaults) are filled in. Optional.
	Defaults func(c *Connector)
	// Validate checks a defaulted connector of this kind; path is its key
	// path ("connectors[2]"). The common settings (name, schedule,
	// full_resync, rate limits, http) are checked already. Optional.
	Validate func(c Connector, path string, v *Problems)
	// MatchRules are the default matching.rules when a connector of this
	// kind is configured (a CRM's billing-metadata key and ID field).
	MatchRules []MatchRule
}

// Problems collects what a Kind's Validate finds.
type Problems struct{ k *checker }

// Add reports a problem at a key path ("connectors[2].auth.api_key").
func (v *Problems) Add(path, format string, args ...any) { v.k.add(path, format, args...) }

// kindTable is the registry of connector kinds. It is filled at program
// start (the built-ins here, new kinds by RegisterKind from an init
// function, the way database/sql registers drivers) and only read after.
type kindTable struct {
	mu    sync.RWMutex
	names []string // registration order: the order "kind" problems list them in
	kinds map[string]Kind
}

var registry = newKindTable()

func newKindTable() *kindTable {
	t := &kindTable{kinds: map[string]Kind{}}
	for _, b := range builtinKinds() {
		t.names = append(t.names, b.name)
		t.kinds[b.name] = b.kind
	}
	return t
}

// RegisterKind adds a connector kind to the table that defaults and
// validation consult. It panics when the name is empty or already
// registered (a wiring mistake, found at start).
func RegisterKind(name string, k Kind) { registry.register(name, k) }

// Kinds lists the registered connector kinds, built-in ones first.
func Kinds() []string { return registry.list() }

// lookupKind returns the registered kind of that name.
func lookupKind(name string) (Kind, bool) { return registry.lookup(name) }

func (t *kindTable) register(name string, k Kind) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if name == "" {
		panic("config: RegisterKind with an empty name")
	}
	if _, dup := t.kinds[name]; dup {
		panic(fmt.Sprintf("config: connector kind %q registered twice", name))
	}
	t.names = append(t.names, name)
	t.kinds[name] = k
}

func (t *kindTable) list() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]string(nil), t.names...)
}

func (t *kindTable) lookup(name string) (Kind, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.kinds[name]
	return k, ok
}
