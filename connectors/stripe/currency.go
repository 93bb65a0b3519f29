package stripe

import (
	"math"
	"strconv"
	"strings"
)

// Amounts in records are in the currency's minor unit as ISO 4217 defines
// it (scoring.MinorUnitExponent, the one table downstream uses for every
// source system). Stripe's API uses the currency's minor unit too
// ("Supported currencies", https://docs.stripe.com/currencies, sections
// "Minor units in API amounts", "Zero-decimal currencies", "Three-decimal
// currencies" and "Special cases"), except where its own table differs from
// ISO 4217; the client converts exactly those, so a record means the same
// money whichever billing system it came from:
//
//   - ISK: ISO 4217 has no decimals, Stripe's API keeps two for backwards
//     compatibility: 100 is 1 ISK, amounts are multiples of 100 ("Special
//     cases"; "Deprecation of fractional ISK charges and refunds").
//   - MGA: ISO 4217 has two decimals, Stripe lists it as zero-decimal:
//     500 is 500 MGA ("Zero-decimal currencies").
//
// The rest agree: Stripe's zero-decimal list (BIF, CLP, DJF, GNF, JPY, KMF,
// KRW, MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF) is ISO's but for MGA;
// its three-decimal currencies (BHD, JOD, KWD, OMR, TND, last digit 0) are
// ISO's; HUF and TWD are two-decimal in the API (zero-decimal only for
// payouts, "Special cases"), as in ISO; UGX is zero-decimal in both.
// TestStripeCurrencyExponents pins every currency of those pages.
var isoShift = map[string]int{
	"ISK": -2, // Stripe 2 decimals, ISO 4217 0
	"MGA": 2,  // Stripe 0 decimals, ISO 4217 2
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// amount converts a Stripe API amount in currency to the record's minor
// units (rounded half away from zero when decimals are dropped).
func amount(currency string, v int64) int64 {
	d := isoShift[strings.ToUpper(currency)]
	switch {
	case d > 0:
		return v * pow10[d]
	case d < 0:
		q, r := v/pow10[-d], v%pow10[-d]
		if 2*r >= pow10[-d] {
			q++
		} else if 2*r <= -pow10[-d] {
			q--
		}
		return q
	}
	return v
}

// minor returns the record amount of an integer field or, for prices set
// with sub-unit precision, of its decimal string (rounded half away from
// zero).
func minor(currency string, v *int64, decimal string) int64 {
	if v != nil {
		return amount(currency, *v)
	}
	f, err := strconv.ParseFloat(decimal, 64)
	if err != nil {
		return 0
	}
	return int64(math.Round(f * math.Pow10(isoShift[strings.ToUpper(currency)])))
}
