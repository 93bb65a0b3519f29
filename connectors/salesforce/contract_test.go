package salesforce_test

import (
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/sync/engine"
)

// The client satisfies every engine interface a CRM connector supplies.
var (
	_ engine.Source      = (*salesforce.Client)(nil)
	_ engine.Fetcher     = (*salesforce.Client)(nil)
	_ engine.Writer      = (*salesforce.Client)(nil)
	_ engine.TaskWriter  = (*salesforce.Client)(nil)
	_ engine.Preflighter = (*salesforce.Client)(nil)
)
