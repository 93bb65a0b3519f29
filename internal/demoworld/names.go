package demoworld

import (
	"strings"
)

// Word lists for company and people names. Company names are prefix +
// suffix; a repeat gets a region word so every name and domain is unique.
var (
	namePrefixes = []string{
		"Sakura", "Fuji", "Aozora", "Kaze", "Hikari", "Midori", "Tsubasa", "Kumo", "Nami", "Yamato",
		"Asahi", "Hoshi", "Mirai", "Kibou", "Sora", "Shinsei", "Akari", "Kawa", "Mori", "Umi",
		"Northwind", "Bluepeak", "Ironleaf", "Silverline", "Brightwave", "Cedar", "Harbor", "Summit", "Quartz", "Maple",
		"Lumen", "Vertex", "Orbit", "Granite", "Pioneer", "Beacon", "Atlas", "Nimbus", "Crescent", "Falcon",
		"Juniper", "Redwood", "Copper", "Horizon", "Keystone", "Lattice", "Meridian", "Polar", "Riverstone", "Tidal",
	}
	nameSuffixes = []string{
		"Logistics", "Foods", "Robotics", "Health", "Labs", "Systems", "Retail", "Finance", "Media", "Energy",
		"Works", "Analytics", "Pharma", "Motors", "Textiles", "Learning", "Capital", "Networks", "Studios", "Farms",
	}
	regionWords = []string{"East", "West", "North", "South", "Central", "Global", "Pacific", "Kansai", "Kanto", "Kyushu"}
	industries  = []string{"Agriculture", "Banking", "Consulting", "Education", "Electronics",
		"Finance", "Healthcare", "Manufacturing", "Media", "Retail", "Technology", "Other"}
	firstNames = []string{"Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Kenji", "Keiko", "Takashi", "Yuki",
		"Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "James"}
	lastNames = []string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato",
		"Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Clark", "Lee"}
	freeMail   = []string{"gmail.com", "yahoo.co.jp", "outlook.com", "icloud.com", "hotmail.com"}
	ownerNames = []string{"Aiko Mori", "Daniel Reyes", "Hiroshi Ono", "Priya Shah", "Mei Fujita", "Tom Becker", "Naomi Ueda", "Carlos Vega"}
)

// hubspotIndustry maps a Salesforce industry to HubSpot's industry option.
var hubspotIndustry = map[string]string{
	"Agriculture": "FARMING", "Banking": "BANKING", "Consulting": "MANAGEMENT_CONSULTING", "Education": "EDUCATION_MANAGEMENT",
	"Electronics": "CONSUMER_ELECTRONICS", "Finance": "FINANCIAL_SERVICES", "Healthcare": "HOSPITAL_HEALTH_CARE",
	"Manufacturing": "MACHINERY", "Media": "MEDIA_PRODUCTION", "Retail": "RETAIL", "Technology": "COMPUTER_SOFTWARE",
	"Other": "OTHER",
}

// companyName returns a unique company name for the idx-th draw; taken
// records names already used.
func (g *gen) companyName(taken map[string]bool) string {
	p, s := namePrefixes[g.intn(len(namePrefixes))], nameSuffixes[g.intn(len(nameSuffixes))]
	name := p + " " + s
	for i := 0; taken[strings.ToLower(name)]; i++ {
		name = p + " " + s + " " + regionWords[i%len(regionWords)]
		if i >= len(regionWords) {
			name += " " + string(rune('A'+i/len(regionWords)-1))
		}
	}
	taken[strings.ToLower(name)] = true
	return name
}

// domainOf derives a web domain from a company name.
func domainOf(name, currency string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if r == ' ' {
			b.WriteByte('-')
		}
	}
	if currency == "JPY" {
		return b.String() + ".co.jp"
	}
	return b.String() + ".com"
}
