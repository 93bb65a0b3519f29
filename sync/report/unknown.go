package report

import (
	"fmt"
	"io"
	"sort"
)

// NA is how an unknown value prints (JSON: null).
const NA = "n/a"

// PctOf formats a rate that may be unknown.
func PctOf(v *float64) string {
	if v == nil {
		return NA
	}
	return Pct(*v)
}

// MoneyOf formats an amount that may be unknown.
func MoneyOf(v *float64) string {
	if v == nil {
		return NA
	}
	return Money(*v)
}

// status is a target's status word: met, MISSED, or n/a when unknown.
func status(t Target) string {
	switch {
	case t.Met == nil:
		return NA
	case *t.Met:
		return "met"
	}
	return "MISSED"
}

// Scope is the sentence that says what the figures count, for the header
// of every format.
func Scope(r *Report) string {
	zone := ""
	if r.Timezone != "" {
		zone = " (" + r.Timezone + ")"
	}
	return fmt.Sprintf("Customers, MRR, ARR, ARPA, LTV, health bands and segment counts: %d accounts with MRR > 0 on %s "+
		"(%d without MRR left out). Rates, movements and cohorts: months %s to %s%s.",
		r.Population.Customers, r.Population.Date, r.Population.WithoutMRR, r.Period.From, r.Period.To, zone)
}

// Unknowns lists the unknown portfolio values with their reasons, sorted by
// key: "nrr: n/a, no MRR at the end of 2025-10, ...".
func Unknowns(r *Report) []string {
	keys := make([]string, 0, len(r.Portfolio.Unknown))
	for k := range r.Portfolio.Unknown {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + ": " + NA + ", " + r.Portfolio.Unknown[k]
	}
	return out
}

// writeScope prints the notice, the scope and the unknown values.
func writeScope(w io.Writer, r *Report) {
	if r.Notice != "" {
		fmt.Fprintf(w, "NOTE: %s\n", r.Notice)
	}
	fmt.Fprintf(w, "%s\n", Scope(r))
	for _, u := range Unknowns(r) {
		fmt.Fprintf(w, "  %s\n", u)
	}
	fmt.Fprintln(w)
}
