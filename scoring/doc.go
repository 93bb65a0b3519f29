// Package scoring turns canonical records into numbers: MRR and its
// month-by-month movements, portfolio retention metrics, a weighted health
// score, the touch model, the lifecycle phase and task intents from rules.
//
// It is pure computation: no I/O and no clock. Every "as of" time is an
// argument. Money inside the package is an int64 in minor units of the
// reporting currency after conversion (yen for JPY, cents for USD); settings
// carry money in reporting-currency major units to keep the YAML readable.
// Rates are fractions (1.08 means 108%). A month is a calendar month in UTC
// and the MRR of a month is the MRR as of the last instant of that month.
package scoring
