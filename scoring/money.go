package scoring

import (
	"math"
	"strconv"
	"strings"
)

// MinorUnitExponent returns the number of decimals of an ISO 4217 currency's
// minor unit (ISO 4217 "List one", column "Minor unit"): 0 for zero-decimal
// currencies (JPY, KRW, VND, CLP, ISK, ...), 3 for the three-decimal ones
// (BHD, JOD, KWD, OMR, TND, ...), 4 for CLF and UYW, 2 otherwise (MGA, HUF
// and TWD included).
// Example: 1,000 JPY is 1000 minor units; 10.00 USD is 1000; 1.000 KWD is 1000.
//
// It is the unit of every amount in a record, whatever system the record
// came from. Billing systems define their API amounts with tables of their
// own, and each connector converts its vendor's convention to this one:
// Stripe's API keeps two decimals for ISK (100 = 1 ISK) and none for MGA
// ("Supported currencies", connectors/stripe/currency.go); Chargebee's
// gives every currency that is not zero-decimal two decimals, the
// three-decimal ones included ("Currencies" in its API reference). One
// table downstream, conversions at the edge: a per-system table here would
// have every consumer of an amount (scoring, engine, report) carry the
// source system along with the currency.
func MinorUnitExponent(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

var pow10 = [...]float64{1, 10, 100, 1000, 10000}

// converter converts minor units of a currency to minor units of the
// reporting currency. Rates mean "1 unit of currency X = rate units of the
// reporting currency" (USD: 150.0 with JPY reporting).
type converter struct {
	reporting string
	repScale  float64
	rates     map[string]float64
	// one-entry cache: accounts rarely mix currencies
	lastCur  string
	lastMult float64
	lastOK   bool
}

func newConverter(reporting string, rates map[string]float64) *converter {
	reporting = strings.ToUpper(reporting)
	return &converter{reporting: reporting, repScale: pow10[MinorUnitExponent(reporting)], rates: rates}
}

// multiplier returns the factor from minor units of cur to minor units of
// the reporting currency. Worked example: USD to JPY at 150.0: 1 cent =
// 0.01 USD = 1.5 JPY, so the multiplier is 1.5 and 10.00 USD (1000) is 1500 yen.
func (c *converter) multiplier(cur string) (float64, bool) {
	if cur == c.lastCur && c.lastCur != "" {
		return c.lastMult, c.lastOK
	}
	up := strings.ToUpper(cur)
	var mult float64
	ok := true
	if up == c.reporting || up == "" {
		mult = 1
	} else if rate, found := c.rates[up]; found && rate > 0 {
		mult = rate * c.repScale / pow10[MinorUnitExponent(up)]
	} else if rate, found := c.rates[cur]; found && rate > 0 {
		mult = rate * c.repScale / pow10[MinorUnitExponent(up)]
	} else {
		ok = false
	}
	c.lastCur, c.lastMult, c.lastOK = cur, mult, ok
	return mult, ok
}

func roundInt(f float64) int64 { return int64(math.Round(f)) }

// FormatMoney prints minor units of currency as major units with thousands
// separators: FormatMoney(1234500, "USD") = "12,345.00 USD".
func FormatMoney(minor int64, currency string) string {
	exp := MinorUnitExponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	var intPart, frac string
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		intPart, frac = s[:len(s)-exp], s[len(s)-exp:]
	} else {
		intPart = s
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	if currency != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ToUpper(currency))
	}
	return b.String()
}
