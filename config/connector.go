package config

// Connector kinds.
const (
	KindSalesforce = "salesforce"
	KindHubSpot    = "hubspot"
	KindStripe     = "stripe"
	KindChargebee  = "chargebee"
)

// Connector configures one vendor connection. Fields that do not apply to a
// kind are rejected by validation.
type Connector struct {
	// Name is unique; it labels logs and metrics and selects the connector
	// for `--connector`.
	Name string `yaml:"name" json:"name"`
	// Kind is salesforce, hubspot, stripe or chargebee.
	Kind string `yaml:"kind" json:"kind"`
	// LoginURL is Salesforce's OAuth host: the org's My Domain URL
	// (https://YOURDOMAIN.my.salesforce.com), required for client_credentials;
	// jwt_bearer and refresh_token may also use https://login.salesforce.com
	// (their default) or https://test.salesforce.com.
	LoginURL string `yaml:"login_url,omitempty" json:"login_url,omitempty"`
	// BaseURL overrides the vendor's API base URL (tests and the demo point it
	// at a fake). Defaults: https://api.hubapi.com, https://api.stripe.com,
	// https://{site}.chargebee.com.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// APIVersion pins the vendor API version: Salesforce "62.0", Stripe's
	// Stripe-Version header (e.g. "2025-03-31.basil").
	APIVersion string `yaml:"api_version,omitempty" json:"api_version,omitempty"`
	// Site is the Chargebee site name ({site}.chargebee.com).
	Site string `yaml:"site,omitempty" json:"site,omitempty"`
	// OrganizationID is the Salesforce org ID (15 or 18 characters) that
	// inbound Outbound Messages must carry.
	OrganizationID string `yaml:"organization_id,omitempty" json:"organization_id,omitempty"`

	Auth    Auth    `yaml:"auth" json:"auth"`
	Webhook Webhook `yaml:"webhook,omitempty" json:"webhook,omitempty"`

	// Schedule is a cron spec (seconds optional, CRON_TZ= and @every allowed).
	Schedule string `yaml:"schedule" json:"schedule"`
	// FullResync is how often a complete re-read runs instead of an
	// incremental pull (default 24h for CRMs, 7d for billing).
	FullResync Duration `yaml:"full_resync,omitempty" json:"full_resync,omitempty"`

	RateLimit RateLimit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// SearchRateLimit is HubSpot's separate search budget (default 4 per 1s).
	SearchRateLimit RateLimit `yaml:"search_rate_limit,omitempty" json:"search_rate_limit,omitempty"`
	HTTP            HTTP      `yaml:"http,omitempty" json:"http,omitempty"`

	// MaxAPIShare stops a Salesforce run when the org's daily API usage
	// exceeds this share of its allocation (default 0.8).
	MaxAPIShare float64 `yaml:"max_api_share,omitempty" json:"max_api_share,omitempty"`

	// Objects lists what to pull and which fields; defaults per kind
	// (Salesforce Account and Opportunity, HubSpot companies and deals).
	Objects []Object `yaml:"objects,omitempty" json:"objects,omitempty"`

	// SQL is a sql connector's query and database (kind: sql only).
	SQL *SQLSource `yaml:"sql,omitempty" json:"sql,omitempty"`
	// Segment is a segment connector's account rule and event table (kind:
	// segment only).
	Segment *SegmentSource `yaml:"segment,omitempty" json:"segment,omitempty"`
}

// Object is a CRM object to pull with extra fields beyond the standard ones.
type Object struct {
	Name   string   `yaml:"name" json:"name"`                         // Account, Opportunity, companies, deals, ...
	Fields []string `yaml:"fields,omitempty" json:"fields,omitempty"` // extra fields/properties
}

// Auth holds a connector's credentials. Which fields apply depends on kind:
//   - salesforce: flow client_credentials (client_id, client_secret),
//     jwt_bearer (client_id, username, private_key or private_key_file),
//     refresh_token (client_id, client_secret, refresh_token).
//   - hubspot: access_token (private app), or OAuth client_id, client_secret,
//     refresh_token.
//   - stripe: api_key (secret or restricted key).
//   - chargebee: api_key.
type Auth struct {
	Flow           string `yaml:"flow,omitempty" json:"flow,omitempty"`
	ClientID       string `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientSecret   Secret `yaml:"client_secret,omitempty" json:"client_secret,omitempty"`
	Username       string `yaml:"username,omitempty" json:"username,omitempty"`
	PrivateKey     Secret `yaml:"private_key,omitempty" json:"private_key,omitempty"`
	PrivateKeyFile string `yaml:"private_key_file,omitempty" json:"private_key_file,omitempty"`
	RefreshToken   Secret `yaml:"refresh_token,omitempty" json:"refresh_token,omitempty"`
	AccessToken    Secret `yaml:"access_token,omitempty" json:"access_token,omitempty"`
	APIKey         Secret `yaml:"api_key,omitempty" json:"api_key,omitempty"`
}

// Salesforce auth flows.
const (
	FlowClientCredentials = "client_credentials"
	FlowJWTBearer         = "jwt_bearer"
	FlowRefreshToken      = "refresh_token"
)

// Webhook holds inbound webhook verification settings.
//   - stripe: secrets (several accepted during rotation), tolerance.
//   - hubspot: client_secret (the app's), tolerance.
//   - chargebee: username, password (basic auth).
//   - salesforce: the connector's organization_id is checked, and
//     path_token, username and password, allowed_ips and
//     max_fetches_per_minute guard the Outbound Message endpoint.
type Webhook struct {
	Secrets      []Secret `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	ClientSecret Secret   `yaml:"client_secret,omitempty" json:"client_secret,omitempty"`
	Username     string   `yaml:"username,omitempty" json:"username,omitempty"`
	Password     Secret   `yaml:"password,omitempty" json:"password,omitempty"`
	// Tolerance is the accepted age of a signed timestamp (default 5m).
	Tolerance Duration `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// PathToken (Salesforce) is a secret last path segment: Outbound
	// Messages are accepted only at /webhooks/NAME/TOKEN.
	PathToken Secret `yaml:"path_token,omitempty" json:"path_token,omitempty"`
	// AllowedIPs (Salesforce) lists the addresses or CIDR prefixes Outbound
	// Messages may come from (Salesforce's published ranges).
	AllowedIPs []string `yaml:"allowed_ips,omitempty" json:"allowed_ips,omitempty"`
	// MaxFetchesPerMinute (Salesforce) bounds the notifications accepted, and
	// so the Salesforce API calls they cause, per minute (default 100, at
	// least 100: one message holds up to 100 and is accepted whole).
	MaxFetchesPerMinute int `yaml:"max_fetches_per_minute,omitempty" json:"max_fetches_per_minute,omitempty"`
}

// RateLimit is a client-side token bucket: Requests per Per.
type RateLimit struct {
	Requests int      `yaml:"requests,omitempty" json:"requests,omitempty"`
	Per      Duration `yaml:"per,omitempty" json:"per,omitempty"`
	Burst    int      `yaml:"burst,omitempty" json:"burst,omitempty"` // default Requests
}

// HTTP tunes the outbound client.
type HTTP struct {
	Timeout      Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`               // per request, default 30s
	RetryMax     int      `yaml:"retry_max,omitempty" json:"retry_max,omitempty"`           // default 4
	RetryWaitMin Duration `yaml:"retry_wait_min,omitempty" json:"retry_wait_min,omitempty"` // default 500ms
	RetryWaitMax Duration `yaml:"retry_wait_max,omitempty" json:"retry_wait_max,omitempty"` // default 30s
}
