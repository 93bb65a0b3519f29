package engine

import (
	"testing"
	"time"
)

// TestSameValue pins the comparison of written, CRM and desired values:
// the typed fast paths give the answers the parsing comparison gives.
func TestSameValue(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"equal numbers", 80.0, 80.0, true},
		{"numbers within a cent", 80.001, 80.0, true},
		{"different numbers", 80.0, 81.0, false},
		{"number and its text", "80", 80.0, true},
		{"number and other text", "80.5", 80.0, false},
		{"equal texts", "healthy", "healthy", true},
		{"different texts", "healthy", "at_risk", false},
		{"numeric texts differently written", "80.0", "80", true},
		{"equal times", at, at.In(time.FixedZone("JST", 9*3600)), true},
		{"time and its RFC 3339 text", "2026-12-06T09:00:00Z", at, true},
		{"time and Salesforce text", "2026-12-06T18:00:00.000+0900", at, true},
		{"time texts of one instant", "2026-12-06T09:00:00Z", "2026-12-06T18:00:00.000+0900", true},
		{"different times", at, at.Add(time.Second), false},
		{"two nils", nil, nil, true},
		{"nil and text", nil, "", false},
		{"nil and a number", nil, 0.0, false},
		{"int and float", int64(5), 5.0, true},
	}
	for _, tt := range tests {
		if got := sameValue(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: sameValue(%#v, %#v) = %v, want %v", tt.name, tt.a, tt.b, got, tt.want)
		}
	}
}

// BenchmarkSameValue compares the values a plan compares most: equal
// texts, equal numbers and a time with its stored text.
func BenchmarkSameValue(b *testing.B) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		a, c any
	}{
		{"texts", "healthy", "healthy"},
		{"numbers", 80.0, 80.0},
		{"times", at, at},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sameValue(bc.a, bc.c)
			}
		})
	}
}
