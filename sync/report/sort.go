package report

import "sort"

func sortAccounts(a []Account) {
	sort.SliceStable(a, func(i, j int) bool {
		if a[i].HealthScore != a[j].HealthScore {
			return a[i].HealthScore < a[j].HealthScore
		}
		if a[i].MRR != a[j].MRR {
			return a[i].MRR > a[j].MRR
		}
		return a[i].ID < a[j].ID
	})
}
