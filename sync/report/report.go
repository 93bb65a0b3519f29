// Package report defines the portfolio report healthsync prints and serves —
// its JSON form is documented in the README and stable — and renders it as a
// table, CSV or a self-contained HTML page with inline SVG charts.
//
// Money is in major units of the reporting currency (decimals); rates are
// fractions (1.08 = 108%).
package report

import "github.com/healthsync/healthsync/scoring/backtest"

// Report is `healthsync report --format json` and GET /api/report.
type Report struct {
	AsOf       string           `json:"as_of"` // YYYY-MM-DD
	Currency   string           `json:"currency"`
	Period     Period           `json:"period"`
	Portfolio  Portfolio        `json:"portfolio"`
	Movements  []Movement       `json:"movements"`
	Targets    []Target         `json:"targets"`
	Segments   []Segment        `json:"segments"`
	Accounts   []Account        `json:"accounts"`
	Unmatched  []Unmatched      `json:"unmatched"`
	Conflicts  []Conflict       `json:"conflicts"`
	Bands      []BandCount      `json:"bands"`
	Cohorts    []Cohort         `json:"cohorts"`
	Onboarding Onboarding       `json:"onboarding"`
	Tasks      []Task           `json:"tasks,omitempty"`
	APIUsage   []ConnectorUsage `json:"api_usage,omitempty"`
	// Churned lists accounts whose MRR went to zero (they are not in
	// Accounts: not part of the live book).
	Churned []Churned `json:"churned,omitempty"`
	// Account is set when the report was asked for one account (its key or
	// CRM ID, as given).
	Account string `json:"account,omitempty"`
	// Backtest is the latest `healthsync backtest` (backtest.go).
	Backtest *backtest.Result `json:"backtest,omitempty"`
}

// Churned is an account that churned: its last MRR and the month its MRR
// went to zero ("" when that was before the report's months).
type Churned struct {
	ID         string  `json:"id"`
	CRM        CRMRef  `json:"crm"`
	Name       string  `json:"name"`
	ChurnMonth string  `json:"churn_month"` // YYYY-MM
	LastMRR    float64 `json:"last_mrr"`    // major units, the month before churn
}

// Period is the range of months reported, YYYY-MM inclusive.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Portfolio holds the headline KPIs over the period; MRR, ARR and customers
// are as of AsOf.
type Portfolio struct {
	MRR              float64 `json:"mrr"`
	ARR              float64 `json:"arr"`
	Customers        int     `json:"customers"`
	NRR              float64 `json:"nrr"`
	GRR              float64 `json:"grr"`
	CRR              float64 `json:"crr"`
	LogoChurnRate    float64 `json:"logo_churn_rate"`
	RevenueChurnRate float64 `json:"revenue_churn_rate"`
	ARPA             float64 `json:"arpa"`
	LTV              float64 `json:"ltv"`
}

// Movement is one month's MRR movements; they sum to the MRR change.
type Movement struct {
	Month        string  `json:"month"`
	New          float64 `json:"new"`
	Expansion    float64 `json:"expansion"`
	Contraction  float64 `json:"contraction"` // negative or zero
	Churn        float64 `json:"churn"`       // negative or zero
	Reactivation float64 `json:"reactivation"`
	MRREnd       float64 `json:"mrr_end"`
}

// Target is a KPI against its configured target. Value is null when the
// KPI cannot be computed (no data), and Met is then false. Source, From
// and To say where a KPI measured elsewhere comes from
// (churn_signal_detection: "backtest" or "live", and its period).
type Target struct {
	KPI    string   `json:"kpi"`
	Op     string   `json:"op"`
	Target float64  `json:"target"`
	Value  *float64 `json:"value"`
	Met    bool     `json:"met"`
	Source string   `json:"source,omitempty"`
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
}

// Segment is the portfolio broken down by one dimension value.
type Segment struct {
	Dimension  string  `json:"dimension"` // touch_model or a configured field
	Value      string  `json:"value"`
	TouchModel string  `json:"touch_model,omitempty"` // set for the touch_model dimension
	Customers  int     `json:"customers"`
	MRR        float64 `json:"mrr"`
	NRR        float64 `json:"nrr"`
	AtRisk     int     `json:"at_risk"`
}

// CRMRef names an account in its CRM.
type CRMRef struct {
	System    string `json:"system"`
	Connector string `json:"connector,omitempty"`
	ID        string `json:"id"`
}

// Account is one account's current state.
type Account struct {
	ID          string   `json:"id"` // healthsync account key, "salesforce/001..."
	CRM         CRMRef   `json:"crm"`
	Name        string   `json:"name"`
	MRR         float64  `json:"mrr"`
	ARR         float64  `json:"arr"`
	HealthScore float64  `json:"health_score"`
	Band        string   `json:"band"`
	Trend       float64  `json:"trend"`
	TouchModel  string   `json:"touch_model"`
	Phase       string   `json:"phase"`
	Reasons     []string `json:"reasons"`
	Override    bool     `json:"override,omitempty"`
}

// Unmatched is a billing customer linked to no account.
type Unmatched struct {
	System string  `json:"system"`
	ID     string  `json:"id"`
	Name   string  `json:"name,omitempty"`
	MRR    float64 `json:"mrr"`
}

// Conflict is a billing customer claimed by several accounts.
type Conflict struct {
	Customer string   `json:"customer"`
	Accounts []string `json:"accounts"`
	Rule     string   `json:"rule"`
}

// BandCount is the health-score distribution: accounts and MRR per band.
type BandCount struct {
	Band     string  `json:"band"`
	Accounts int     `json:"accounts"`
	MRR      float64 `json:"mrr"`
}

// Cohort is a start-month cohort's retention by month offset (index 0 is
// the start month: 1.0).
type Cohort struct {
	Start   string    `json:"start"` // YYYY-MM
	Size    int       `json:"size"`
	Logo    []float64 `json:"logo"`
	Revenue []float64 `json:"revenue"`
}

// Onboarding is onboarding completion and time-to-value.
type Onboarding struct {
	Eligible       int     `json:"eligible"`
	Completed      int     `json:"completed"`
	CompletionRate float64 `json:"completion_rate"`
	MedianTTVDays  float64 `json:"median_time_to_value_days"`
}

// Task is a task healthsync created or closed in this run.
type Task struct {
	Account string `json:"account"`
	Rule    string `json:"rule"`
	Subject string `json:"subject"`
	CRMID   string `json:"crm_id,omitempty"`
	Status  string `json:"status"`
}

// ConnectorUsage is API consumption per connector.
type ConnectorUsage struct {
	Connector string `json:"connector"`
	Calls     int64  `json:"calls"`
	Retries   int64  `json:"retries"`
	Throttled int64  `json:"throttled"`
	Errors    int64  `json:"errors"`
}
