package zendesk

import "time"

// Wire shapes of the Zendesk Support API as documented at
// developer.zendesk.com ("Incremental Exports", "Tickets", "Ticket
// Metrics", "Organizations"): only the attributes the connector maps.
// Timestamps are ISO 8601 UTC strings, generated_timestamp and end_time
// Unix seconds; ids are integers; absent or null attributes decode as zero.

// maxPerPage is the incremental exports' largest (and default) per_page
// (docs "Incremental Exports").
const maxPerPage = 1000

// wireTicketPage is a cursor-based incremental export page (docs
// "Incremental Exports > Cursor-based Pagination JSON Format": after_url,
// after_cursor, before_url, before_cursor, end_of_stream) with the
// metric_sets side-load ("Tickets > Sideloads").
type wireTicketPage struct {
	Tickets     []wireTicket `json:"tickets"`
	MetricSets  []wireMetric `json:"metric_sets"`
	AfterCursor *string      `json:"after_cursor"`
	EndOfStream bool         `json:"end_of_stream"`
}

type wireTicket struct {
	ID                 int64     `json:"id"`
	OrganizationID     *int64    `json:"organization_id"`
	Status             string    `json:"status"`
	Priority           *string   `json:"priority"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	GeneratedTimestamp int64     `json:"generated_timestamp"`
	SatisfactionRating *struct {
		Score string `json:"score"`
	} `json:"satisfaction_rating"`
}

// wireMetric is a ticket metric set (docs "Ticket Metrics":
// reply_time_in_minutes, "Number of minutes to the first reply inside and
// out of business hours", {calendar, business}, null before a reply).
type wireMetric struct {
	TicketID           int64 `json:"ticket_id"`
	ReplyTimeInMinutes struct {
		Calendar *int64 `json:"calendar"`
		Business *int64 `json:"business"`
	} `json:"reply_time_in_minutes"`
}

// wireOrgPage is a time-based incremental export page (docs "Incremental
// Exports > Time-based Pagination JSON Format": end_time, next_page,
// count, end_of_stream).
type wireOrgPage struct {
	Organizations []wireOrg `json:"organizations"`
	Count         int       `json:"count"`
	EndTime       int64     `json:"end_time"`
	NextPage      *string   `json:"next_page"`
	EndOfStream   bool      `json:"end_of_stream"`
}

type wireOrg struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	ExternalID  *string    `json:"external_id"`
	DomainNames []string   `json:"domain_names"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeletedAt   *time.Time `json:"deleted_at"`
}
