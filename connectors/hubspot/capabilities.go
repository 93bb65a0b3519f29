package hubspot

import "github.com/healthsync/healthsync/connectors/record"

// Capabilities describe the HubSpot connector to the engine: a CRM whose
// batch update takes at most batchSize inputs a call (HubSpot CRM API,
// "Companies" batch update: "up to 100 records"). Billing metadata keys
// beginning "hubspot" or "hs_" hold HubSpot company IDs (e.g.
// hubspot_company_id).
func Capabilities() record.Capabilities {
	return record.Capabilities{
		System:           record.HubSpot,
		Role:             record.RoleCRM,
		WriteBatch:       batchSize,
		MetadataPrefixes: []string{"hubspot", "hs_"},
	}
}
