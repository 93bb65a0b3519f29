package chargebee

import "strings"

// Amounts in records are in the currency's minor unit as ISO 4217 defines
// it (scoring.MinorUnitExponent, the one table downstream uses for every
// source system). Chargebee's API has its own rule, kept here apart from
// Stripe's (connectors/stripe/currency.go), and the client converts every
// amount it maps (item prices, unit prices, tiers, fixed discounts and
// coupons, the subscription's mrr, invoice totals and lines):
//
//   - "Currencies" (API reference, API v2, "Currency values > Whole number
//     currency values"): a zero-decimal currency, one "that does not have
//     decimal subunits", is sent in its major unit, "the unit represented by
//     its ISO 4217 code" (JPY 15 is 15); every other currency is sent with
//     two decimals, multiplied by 100 ($1.53 is 153). The three-decimal ISO
//     currencies (BHD, IQD, JOD, KWD, LYD, OMR, TND) are among the others:
//     Chargebee's 1250 KWD amount is 12.50 KWD, 12500 in ISO minor units,
//     so they are multiplied by 10; CLF and UYW (four decimals in ISO) by 100.
//   - Which currencies are zero-decimal: the knowledge-base article "What
//     are Zero decimal currencies?" defines them "as per the ISO definition"
//     (JPY its example) and points at "Supported Currencies", where they are
//     marked with an asterisk; the API v1 "Currencies" page ("Handling
//     currency units") names KRW, JPY, XAF and XOF. The client takes every
//     currency with no minor unit in ISO 4217 (BIF, CLP, DJF, GNF, ISK, JPY,
//     KMF, KRW, PYG, RWF, UGX, UYI, VND, VUV, XAF, XOF, XPF) as zero-decimal
//     at Chargebee too (the documented definition), so none of them is
//     converted; that includes ISK, which Stripe's API, unlike Chargebee's,
//     sends with two decimals. MGA, HUF and TWD have two decimals in both.
//     CONTRACT.md ("Resources and money") says which currencies the pages
//     name and which come from the definition.
//
// Multi-decimal pricing (the *_in_decimal string attributes) is not read
// (CONTRACT.md, "Known gaps").
// TestChargebeeCurrencyExponents pins every currency named here.

// isoShift is the number of decimals to append to a Chargebee amount to
// reach the ISO 4217 minor unit: the ISO minor unit less Chargebee's two
// decimals. It is 0 for every currency not listed (two decimals in both,
// or zero-decimal in both).
var isoShift = map[string]int{
	"BHD": 1, "IQD": 1, "JOD": 1, "KWD": 1, "LYD": 1, "OMR": 1, "TND": 1, // ISO 3
	"CLF": 2, "UYW": 2, // ISO 4
}

var pow10 = [...]int64{1, 10, 100}

// minor converts a Chargebee API amount in currency to the record's ISO
// 4217 minor units. Chargebee never sends more decimals than ISO has, so
// the conversion is exact.
// Example: minor("KWD", 1250) = 12500 (12.500 KWD); minor("JPY", 1500) = 1500.
func minor(currency string, v int64) int64 {
	return v * pow10[isoShift[strings.ToUpper(currency)]]
}

// minorPtr is minor for an optional amount; nil stays nil.
func minorPtr(currency string, v *int64) *int64 {
	if v == nil {
		return nil
	}
	m := minor(currency, *v)
	return &m
}
