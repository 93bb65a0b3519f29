package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/report"
)

// ReportFormats are the formats `healthsync report --format` and
// GET /api/report?format= accept (in any letter case).
var ReportFormats = []string{"table", "json", "csv", "html"}

// ErrReportQuery marks a report query a caller got wrong (HTTP 400, exit 2).
var ErrReportQuery = errors.New("bad report query")

// ReportQuery is what `healthsync report` and GET /api/report accept, under
// the same names: from and to (YYYY-MM), as-of (YYYY-MM-DD), segment,
// account and format. The CLI turns its flags into these values and the API
// reads them from the URL, so both accept exactly the same.
type ReportQuery struct {
	Options engine.ReportOptions
	Format  string // one of ReportFormats, lower-case
	// AsOfDay is the as-of day as given (YYYY-MM-DD); Report reads it in the
	// business's time zone (Options.AsOf holds the end of that day in UTC
	// until then).
	AsOfDay string
}

// ParseReportQuery reads q; an empty format is def.
func ParseReportQuery(q url.Values, def string) (ReportQuery, error) {
	var rq ReportQuery
	o := &rq.Options
	o.Segment = q.Get("segment")
	o.Account = q.Get("account")
	var err error
	if o.From, err = ParseMonth(q.Get("from")); err != nil {
		return rq, fmt.Errorf("%w: from: %w", ErrReportQuery, err)
	}
	if o.To, err = ParseMonth(q.Get("to")); err != nil {
		return rq, fmt.Errorf("%w: to: %w", ErrReportQuery, err)
	}
	if o.From != 0 && o.To != 0 && o.To < o.From {
		return rq, fmt.Errorf("%w: to (%s) is before from (%s)", ErrReportQuery, o.To, o.From)
	}
	if s := q.Get("as-of"); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return rq, fmt.Errorf("%w: as-of: want YYYY-MM-DD, got %q", ErrReportQuery, s)
		}
		o.AsOf = t.Add(24*time.Hour - time.Nanosecond) // the end of that day, UTC
		rq.AsOfDay = s
	}
	rq.Format = strings.ToLower(strings.TrimSpace(q.Get("format")))
	if rq.Format == "" {
		rq.Format = def
	}
	if !isReportFormat(rq.Format) {
		return rq, fmt.Errorf("%w: format: want %s, got %q", ErrReportQuery, strings.Join(ReportFormats, ", "), q.Get("format"))
	}
	return rq, nil
}

func isReportFormat(f string) bool {
	for _, x := range ReportFormats {
		if f == x {
			return true
		}
	}
	return false
}

// ParseMonth parses YYYY-MM ("" is the zero Month: no bound).
func ParseMonth(s string) (scoring.Month, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return 0, fmt.Errorf("want YYYY-MM, got %q", s)
	}
	return scoring.MonthOf(t), nil
}

// WriteReport renders rep in format (one of ReportFormats).
func WriteReport(w io.Writer, rep *report.Report, format string) error {
	switch format {
	case "json":
		return report.WriteJSON(w, rep)
	case "csv":
		return report.WriteCSV(w, rep)
	case "html":
		return report.WriteHTML(w, rep)
	case "table":
		return report.WriteTable(w, rep, 0, 10)
	}
	return fmt.Errorf("%w: format: want %s, got %q", ErrReportQuery, strings.Join(ReportFormats, ", "), format)
}

// reportContentType is the Content-Type of a rendered format.
func reportContentType(format string) string {
	switch format {
	case "json":
		return "application/json"
	case "csv":
		return "text/csv; charset=utf-8"
	case "html":
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}
