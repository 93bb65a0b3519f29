package daemon

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

func TestResolveAccount(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "a.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct := func(sys, id, name string) record.Account {
		return record.Account{Ref: record.Ref{System: sys, ID: id}, Name: name}
	}
	if _, err := st.CommitBatch("sf", &record.Batch{Stream: "Account", Accounts: []record.Account{
		acct("salesforce", "001A", "Acme Corp"), acct("salesforce", "001B", "Acme Corp Japan"),
		acct("salesforce", "001C", "Globex / Partners"), acct("salesforce", "001D", "Initech"),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CommitBatch("hs", &record.Batch{Stream: "companies", Accounts: []record.Account{
		acct("hubspot", "501", "Initech"), acct("hubspot", "502", "Umbrella"),
	}}); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Config: &config.Config{}, Store: st, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
		{Config: config.Connector{Name: "sf", Kind: config.KindSalesforce}, Caps: record.Capabilities{Role: record.RoleCRM}},
		{Config: config.Connector{Name: "hs", Kind: config.KindHubSpot}, Caps: record.Capabilities{Role: record.RoleCRM}},
		{Config: config.Connector{Name: "billing", Kind: config.KindStripe}, Caps: record.Capabilities{Role: record.RoleBilling}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query, want string
		err         error
		msg         string
	}{
		{query: "salesforce/001A", want: "salesforce/001A"},
		{query: "001B", want: "001B"},
		{query: "502", want: "502"},
		{query: "acme corp", want: "salesforce/001A"}, // exact beats the substring match of "Acme Corp Japan"
		{query: "japan", want: "salesforce/001B"},
		{query: "UMBRELLA", want: "hubspot/502"},
		{query: "Globex / Partners", want: "salesforce/001C"}, // a slash in a name is not a key
		{query: "acme", err: ErrAmbiguousAccount,
			msg: `several accounts match: "acme" matches 2 accounts: salesforce/001A (Acme Corp), salesforce/001B (Acme Corp Japan)`},
		{query: "Initech", err: ErrAmbiguousAccount,
			msg: `several accounts match: "Initech" matches 2 accounts: hubspot/501 (Initech), salesforce/001D (Initech)`},
		{query: "salesforce/001Z", err: engine.ErrNoAccount, msg: `no such account: "salesforce/001Z" is no account key, CRM ID or name`},
		{query: "nope", err: engine.ErrNoAccount, msg: `no such account: "nope" is no account key, CRM ID or name`},
		{query: "  ", err: engine.ErrNoAccount, msg: "no such account"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := ResolveAccount(eng, st, tt.query)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || err.Error() != tt.msg {
					t.Fatalf("error %v, want %q", err, tt.msg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
