package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Money formats major units with thousands separators and no decimals for
// amounts of 1,000 or more ("1,234,567"), two decimals below.
func Money(v float64) string {
	neg := v < 0
	v = math.Abs(v)
	var s string
	if v >= 1000 {
		s = strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		s = b.String()
	} else {
		s = strconv.FormatFloat(v, 'f', 2, 64)
		s = strings.TrimSuffix(s, ".00")
	}
	if neg && s != "0" {
		return "-" + s
	}
	return s
}

// Pct formats a fraction as a percentage with one decimal.
func Pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

func targetValue(t Target) string {
	v := PctOf(t.Value)
	if strings.Contains(t.KPI, "days") || t.KPI == "logins_per_week" || t.KPI == "features_used" || t.KPI == "health_score" {
		if t.Value == nil {
			return NA
		}
		v = strconv.FormatFloat(*t.Value, 'f', 1, 64)
	}
	if t.Source != "" && t.Value != nil {
		v += " (" + t.Source + " " + t.From + ".." + t.To + ")"
	}
	return v
}

func targetGoal(t Target) string {
	if strings.Contains(t.KPI, "days") || t.KPI == "logins_per_week" || t.KPI == "features_used" || t.KPI == "health_score" {
		return t.Op + " " + strconv.FormatFloat(t.Target, 'f', 1, 64)
	}
	return t.Op + " " + Pct(t.Target)
}

// WriteTable writes the human-readable report. lastMovements limits the
// movements table to the last N months (0: all); topAtRisk the at-risk list.
func WriteTable(w io.Writer, r *Report, lastMovements, topAtRisk int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := r.Portfolio
	fmt.Fprintf(w, "Portfolio as of %s (%s, period %s to %s)\n", plain(r.AsOf), plain(r.Currency), plain(r.Period.From), plain(r.Period.To))
	writeScope(w, r)
	fmt.Fprintf(tw, "MRR\tARR\tcustomers\tNRR\tGRR\tCRR\tlogo churn\trevenue churn\tARPA\tLTV\t\n")
	fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", Money(p.MRR), Money(p.ARR), p.Customers,
		PctOf(p.NRR), PctOf(p.GRR), PctOf(p.CRR), PctOf(p.LogoChurnRate), PctOf(p.RevenueChurnRate), MoneyOf(p.ARPA), MoneyOf(p.LTV))
	tw.Flush()

	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\nKPI targets\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "kpi\tvalue\ttarget\tstatus\twhy\n")
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", plain(t.KPI), targetValue(t), plain(targetGoal(t)), status(t), plain(t.Reason))
		}
		tw.Flush()
	}

	mv := r.Movements
	if lastMovements > 0 && len(mv) > lastMovements {
		mv = mv[len(mv)-lastMovements:]
	}
	fmt.Fprintf(w, "\nMRR movements\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "month\tnew\texpansion\treactivation\tcontraction\tchurn\tnet\tMRR end\t\n")
	for _, m := range mv {
		net := m.New + m.Expansion + m.Reactivation + m.Contraction + m.Churn
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", plain(m.Month), Money(m.New), Money(m.Expansion),
			Money(m.Reactivation), Money(m.Contraction), Money(m.Churn), Money(net), Money(m.MRREnd))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nSegments\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dimension\tvalue\tcustomers\tMRR\tNRR\tat risk\n")
	for _, s := range r.Segments {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\n", plain(s.Dimension), plain(s.Value), s.Customers, Money(s.MRR), PctOf(s.NRR), s.AtRisk)
	}
	tw.Flush()

	if len(r.Bands) > 0 {
		fmt.Fprintf(w, "\nHealth bands\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "band\taccounts\tMRR\n")
		for _, b := range r.Bands {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", plain(b.Band), b.Accounts, Money(b.MRR))
		}
		tw.Flush()
	}

	risk := AtRisk(r.Accounts, topAtRisk)
	if r.Account != "" {
		fmt.Fprintf(w, "\nAccount %s\n", r.Account)
	} else {
		fmt.Fprintf(w, "\nAccounts most at risk\n")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "account\tscore\tband\ttrend\tMRR\ttouch\tphase\treasons\n")
	for _, a := range risk {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%+.0f\t%s\t%s\t%s\t%s\n", plain(a.Name), a.HealthScore, plain(a.Band), a.Trend, Money(a.MRR),
			plain(a.TouchModel), plain(a.Phase), plain(strings.Join(a.Reasons, "; ")))
	}
	tw.Flush()

	if len(r.Churned) > 0 {
		fmt.Fprintf(w, "\nChurned accounts (%d)\n", len(r.Churned))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "account\tchurned in\tlast MRR\n")
		for _, c := range r.Churned {
			month := c.ChurnMonth
			if month == "" {
				month = "before " + r.Period.From
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, month, Money(c.LastMRR))
		}
		tw.Flush()
	}

	if len(r.Unmatched) > 0 || len(r.Conflicts) > 0 {
		fmt.Fprintf(w, "\nUnmatched billing customers (%d) and conflicts (%d)\n", len(r.Unmatched), len(r.Conflicts))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, u := range r.Unmatched {
			fmt.Fprintf(tw, "unmatched\t%s/%s\t%s\tMRR %s\n", plain(u.System), plain(u.ID), plain(u.Name), Money(u.MRR))
		}
		for _, c := range r.Conflicts {
			fmt.Fprintf(tw, "conflict\t%s\tclaimed by %s\t(%s)\n", plain(c.Customer), plain(strings.Join(c.Accounts, ", ")), plain(c.Rule))
		}
		tw.Flush()
	}
	return nil
}

// AtRisk returns up to n accounts with the lowest scores (n <= 0: all),
// ties broken by higher MRR.
func AtRisk(accounts []Account, n int) []Account {
	out := append([]Account(nil), accounts...)
	sortAccounts(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// WriteCSV writes one row per account. Text cells are neutralised for
// spreadsheets (csvText); numeric cells are plain numbers, negative ones
// included.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "crm_system", "crm_id", "name", "mrr", "arr", "health_score", "band", "trend", "touch_model", "phase", "reasons"})
	for _, a := range r.Accounts {
		cw.Write([]string{csvText(a.ID), csvText(a.CRM.System), csvText(a.CRM.ID), csvText(a.Name), strconv.FormatFloat(a.MRR, 'f', 2, 64),
			strconv.FormatFloat(a.ARR, 'f', 2, 64), strconv.FormatFloat(a.HealthScore, 'f', 0, 64), csvText(a.Band),
			strconv.FormatFloat(a.Trend, 'f', 0, 64), csvText(a.TouchModel), csvText(a.Phase), csvText(strings.Join(a.Reasons, "; "))})
	}
	cw.Flush()
	return cw.Error()
}
