package scoring

// MovementKind classifies an account's MRR change in a month.
type MovementKind uint8

// Movement kinds. Per account and month: previous MRR 0 and now > 0 is new,
// or reactivation when the account had MRR in an earlier month; previous > 0
// and now 0 is churn; up is expansion; down is contraction; unchanged is
// none. The movement amount is always now - previous, so the movements of a
// month sum exactly to the MRR change of that month.
const (
	MoveNone MovementKind = iota
	MoveNew
	MoveExpansion
	MoveContraction
	MoveChurn
	MoveReactivation
)

var moveNames = [...]string{"none", "new", "expansion", "contraction", "churn", "reactivation"}

var moveWhy = [...]string{
	"MRR unchanged",
	"MRR went from zero to positive and the account never had MRR before",
	"MRR went up",
	"MRR went down but stayed positive",
	"MRR went to zero",
	"MRR went from zero to positive and the account had MRR in an earlier month",
}

// String returns the kind's name ("new", "churn", ...).
func (k MovementKind) String() string {
	if int(k) < len(moveNames) {
		return moveNames[k]
	}
	return "unknown"
}

// Why is the rule that classified the movement, as a sentence.
func (k MovementKind) Why() string {
	if int(k) < len(moveWhy) {
		return moveWhy[k]
	}
	return ""
}

// MarshalText prints the kind's name.
func (k MovementKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind's name.
func (k *MovementKind) UnmarshalText(b []byte) error {
	for i, n := range moveNames {
		if n == string(b) {
			*k = MovementKind(i)
			return nil
		}
	}
	*k = MoveNone
	return nil
}

// Classify returns the movement kind from previous to current MRR; hadMRR
// tells whether the account had MRR in any month before the previous one.
// Worked examples: (0, 10000, false) new; (0, 10000, true) reactivation;
// (10000, 12000) expansion; (12000, 9000) contraction; (9000, 0) churn.
func Classify(prev, now int64, hadMRR bool) MovementKind {
	switch {
	case prev == now:
		return MoveNone
	case prev == 0 && hadMRR:
		return MoveReactivation
	case prev == 0:
		return MoveNew
	case now == 0:
		return MoveChurn
	case now > prev:
		return MoveExpansion
	default:
		return MoveContraction
	}
}

// MonthMRR is an account's MRR in one month with its movement. MRR is in
// minor units of the reporting currency as of the month's last instant (for
// the current month: as of the asOf time). Delta = MRR - previous month's MRR.
type MonthMRR struct {
	Month Month        `json:"month"`
	Kind  MovementKind `json:"kind"`
	MRR   int64        `json:"mrr"`
	Delta int64        `json:"delta"`
}

// MonthLedger explains an account's MRR in a month: the lines (items,
// discounts, invoice lines, exclusions, conversion) and the movement with
// the rule that classified it.
type MonthLedger struct {
	Month Month        `json:"month"`
	MRR   int64        `json:"mrr"`
	Delta int64        `json:"delta"`
	Kind  MovementKind `json:"kind"`
	Why   string       `json:"why"`
	Lines []LedgerLine `json:"lines"`
}

// Movements sums an account's or a portfolio's movements in a month, in
// reporting minor units. Churn and contraction are positive amounts:
// MRREnd = MRRStart + New + Expansion + Reactivation - Contraction - Churn.
type Movements struct {
	MRRStart     int64 `json:"mrr_start"`
	New          int64 `json:"new"`
	Expansion    int64 `json:"expansion"`
	Contraction  int64 `json:"contraction"`
	Churn        int64 `json:"churn"`
	Reactivation int64 `json:"reactivation"`
	MRREnd       int64 `json:"mrr_end"`
}

// add records one account's month into the sums.
func (mv *Movements) add(prev int64, m *MonthMRR) {
	mv.MRRStart += prev
	mv.MRREnd += m.MRR
	switch m.Kind {
	case MoveNew:
		mv.New += m.Delta
	case MoveReactivation:
		mv.Reactivation += m.Delta
	case MoveExpansion:
		mv.Expansion += m.Delta
	case MoveContraction:
		mv.Contraction -= m.Delta
	case MoveChurn:
		mv.Churn -= m.Delta
	}
}
