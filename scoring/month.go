package scoring

import (
	"fmt"
	"time"
)

// Month is a calendar month, counted as year*12 + month-1 so that
// consecutive months are consecutive integers. MonthOf(2026-11-23) is
// 2026*12+10 and prints "2026-11". Its boundaries are in UTC (Start, End,
// LastInstant) or in the business's time zone (StartIn, EndIn,
// LastInstantIn: Settings.Location).
type Month int32

// MonthOf returns the UTC calendar month containing t.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month(t.Year()*12 + int(t.Month()) - 1)
}

// MonthFor builds a Month from a year and a month.
func MonthFor(year int, m time.Month) Month { return Month(year*12 + int(m) - 1) }

// MonthIn returns the calendar month containing t in loc (nil: UTC).
// Example: 2026-10-31 23:00 UTC is 2026-11-01 08:00 in Asia/Tokyo, so it
// is in 2026-10 in UTC and in 2026-11 in Tokyo.
func MonthIn(t time.Time, loc *time.Location) Month {
	t = t.In(zone(loc))
	return Month(t.Year()*12 + int(t.Month()) - 1)
}

// Start is the first instant of the month (UTC).
func (m Month) Start() time.Time { return m.StartIn(time.UTC) }

// End is the first instant of the next month (UTC), exclusive.
func (m Month) End() time.Time { return (m + 1).Start() }

// LastInstant is the instant MRR of a month is measured at: one nanosecond
// before the next month starts.
func (m Month) LastInstant() time.Time { return m.End().Add(-time.Nanosecond) }

// StartIn is the first instant of the month in loc (nil: UTC).
func (m Month) StartIn(loc *time.Location) time.Time {
	return time.Date(int(m)/12, time.Month(int(m)%12+1), 1, 0, 0, 0, 0, zone(loc))
}

// EndIn is the first instant of the next month in loc, exclusive.
func (m Month) EndIn(loc *time.Location) time.Time { return (m + 1).StartIn(loc) }

// LastInstantIn is one nanosecond before the next month starts in loc.
func (m Month) LastInstantIn(loc *time.Location) time.Time { return m.EndIn(loc).Add(-time.Nanosecond) }

func zone(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// String prints "2026-11".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// MarshalText prints the month as "2026-11".
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses "2026-11".
func (m *Month) UnmarshalText(b []byte) error {
	t, err := time.Parse("2006-01", string(b))
	if err != nil {
		return fmt.Errorf("parsing month %q: %w", b, err)
	}
	*m = MonthOf(t)
	return nil
}
