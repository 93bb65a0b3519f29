package salesforce

import "github.com/healthsync/healthsync/connectors/record"

// Capabilities describe the Salesforce connector to the engine: a CRM whose
// writes go through sObject Collections, at most MaxBatch records a request
// (Salesforce REST API Developer Guide, "sObject Collections": "up to 200
// records"). Billing metadata keys beginning "salesforce" or "sf_" hold
// Salesforce Account IDs (the billing integrations' convention, e.g.
// salesforce_account_id).
func Capabilities() record.Capabilities {
	return record.Capabilities{
		System:           record.Salesforce,
		Role:             record.RoleCRM,
		WriteBatch:       MaxBatch,
		MetadataPrefixes: []string{"salesforce", "sf_"},
	}
}
