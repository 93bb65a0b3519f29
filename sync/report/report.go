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
	AsOf     string `json:"as_of"`    // YYYY-MM-DD, in Timezone
	Timezone string `json:"timezone"` // IANA zone of the months and the as-of day
	Currency string `json:"currency"`
	Period   Period `json:"period"`
	// Population says which accounts and which day the current figures
	// (portfolio MRR, ARR, customers, ARPA, LTV, bands, segment customers,
	// MRR and at-risk counts) describe; every one of them counts the same
	// accounts, so segments and bands add up to Portfolio.Customers.
	Population Population `json:"population"`
	// Notice explains a report with nothing to measure (an empty store, an
	// as-of before any revenue).
	Notice     string           `json:"notice,omitempty"`
	Portfolio  Portfolio        `json:"portfolio"`
	Movements  []Movement       `json:"movements"`
	Targets    []Target         `json:"targets"`
	Segments   []Segment        `json:"segments"`
	Accounts   []Account        `json:"accounts"`
	Unmatched  []Unmatched      `json:"unmatched"`
	Conflicts  []Conflict       `json:"conflicts"`
	Bands      []BandCount      `json:"bands"`
	Scores     []ScoreBin       `json:"score_distribution"`
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

// Period is the range of months reported, YYYY-MM inclusive. Movements,
// cohorts and the rates (NRR, GRR, CRR, churn) compare MRR at the end of
// the month before From with MRR at the end of To.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Population is the set of accounts the current figures count.
type Population struct {
	Date       string `json:"date"`        // YYYY-MM-DD, the as-of day
	Rule       string `json:"rule"`        // "accounts with MRR > 0 on date"
	Customers  int    `json:"customers"`   // accounts counted
	WithoutMRR int    `json:"without_mrr"` // accounts left out: trials, churned, not billed
}

// Portfolio holds the headline KPIs. MRR, ARR, customers, ARPA and LTV are
// the population's on Population.Date; the rates are over the period. A
// rate that cannot be computed is null, and Unknown says why.
type Portfolio struct {
	MRR              float64  `json:"mrr"`
	ARR              float64  `json:"arr"`
	Customers        int      `json:"customers"`
	NRR              *float64 `json:"nrr"`
	GRR              *float64 `json:"grr"`
	CRR              *float64 `json:"crr"`
	LogoChurnRate    *float64 `json:"logo_churn_rate"`
	RevenueChurnRate *float64 `json:"revenue_churn_rate"`
	ARPA             *float64 `json:"arpa"`
	LTV              *float64 `json:"ltv"`
	// Unknown maps the key of each null value to the reason.
	Unknown map[string]string `json:"unknown,omitempty"`
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

// Target is a KPI against its configured target. Value and Met are null
// when there is no data to judge, and Reason says why. Source, From and To
// say where a KPI measured elsewhere comes from (churn_signal_detection:
// "backtest" or "live", and its period).
type Target struct {
	KPI    string   `json:"kpi"`
	Op     string   `json:"op"`
	Target float64  `json:"target"`
	Value  *float64 `json:"value"`
	Met    *bool    `json:"met"`
	Reason string   `json:"reason,omitempty"`
	Source string   `json:"source,omitempty"`
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
}

// Segment is the portfolio broken down by one dimension value. Customers,
// MRR and AtRisk count the population (so each dimension's rows add up to
// Portfolio.Customers); NRR is over the period, null when the segment had
// no MRR at its start.
type Segment struct {
	Dimension  string   `json:"dimension"` // touch_model, owner, industry, phase, band or a CRM field
	Value      string   `json:"value"`
	TouchModel string   `json:"touch_model,omitempty"` // set for the touch_model dimension
	Customers  int      `json:"customers"`
	MRR        float64  `json:"mrr"`
	NRR        *float64 `json:"nrr"`
	AtRisk     int      `json:"at_risk"`
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

// BandCount is the health-score distribution: the population's accounts
// and MRR per band.
type BandCount struct {
	Band     string  `json:"band"`
	Accounts int     `json:"accounts"`
	MRR      float64 `json:"mrr"`
}

// ScoreBin is one bar of the health-score histogram: the population's
// accounts with From <= score < To (the last bin includes 100).
type ScoreBin struct {
	From     int     `json:"from"`
	To       int     `json:"to"`
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

// Onboarding is onboarding completion and time-to-value of the accounts
// that started in the period; the rates are null when none was due.
type Onboarding struct {
	Eligible       int      `json:"eligible"`
	Completed      int      `json:"completed"`
	CompletionRate *float64 `json:"completion_rate"`
	MedianTTVDays  *float64 `json:"median_time_to_value_days"`
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
