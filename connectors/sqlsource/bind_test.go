package sqlsource

import (
	"errors"
	"testing"
)

func TestBind(t *testing.T) {
	tests := []struct {
		name, query, want string
		n                 int
		err               error
	}{
		{"one", "select a from t where time > :since", "select a from t where time > $1", 1, nil},
		{"twice, semicolon dropped", "select a from t where t1 > :since or t2 > :since;", "select a from t where t1 > $1 or t2 > $1", 2, nil},
		{"cast kept", "select a::text from t where time > :since::timestamptz", "select a::text from t where time > $1::timestamptz", 1, nil},
		{"longer name left alone", "select :since_x, :since from t", "select :since_x, $1 from t", 1, nil},
		{"in a string", "select ':since', 'it''s :since' from t where time > :since", "select ':since', 'it''s :since' from t where time > $1", 1, nil},
		{"in an escape string", `select E'\':since' from t where time > :since`, `select E'\':since' from t where time > $1`, 1, nil},
		{"in an identifier", `select ":since" from t where time > :since`, `select ":since" from t where time > $1`, 1, nil},
		{"in comments", "select 1 -- :since\n/* :since */ from t where time > :since", "select 1 -- :since\n/* :since */ from t where time > $1", 1, nil},
		{"in dollar quotes", "select $q$ :since $q$, $$:since$$ from t where time > :since", "select $q$ :since $q$, $$:since$$ from t where time > $1", 1, nil},
		{"positional $1 untouched", "select $1 from t where time > :since", "select $1 from t where time > $1", 1, nil},
		{"at the end", "select 1 where now() > :since", "select 1 where now() > $1", 1, nil},
		{"missing", "select a from t", "", 0, ErrNoSince},
		{"only in a comment", "select a from t -- where time > :since", "", 0, ErrNoSince},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := bind(tc.query, Postgres)
			if got != tc.want || n != tc.n || !errors.Is(err, tc.err) {
				t.Fatalf("bind = %q, %d, %v; want %q, %d, %v", got, n, err, tc.want, tc.n, tc.err)
			}
		})
	}
}
