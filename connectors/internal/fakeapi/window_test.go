package fakeapi

import (
	"reflect"
	"testing"
	"time"
)

func TestWindowSlides(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 50, 0, time.UTC)
	tests := []struct {
		name  string
		limit int
		span  time.Duration
		at    []time.Duration // offsets from t0, in order
		want  []bool
	}{
		{
			// Three at 0:50, a fourth at 1:10 is refused (a new clock
			// minute does not reset it), at 1:50 the first three are
			// exactly a span old and no longer count.
			name: "a sliding minute", limit: 3, span: time.Minute,
			at:   []time.Duration{0, 0, 0, 20 * time.Second, 59 * time.Second, time.Minute},
			want: []bool{true, true, true, false, false, true},
		},
		{
			name: "refused events do not count", limit: 1, span: time.Second,
			at:   []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond, time.Second, 1500 * time.Millisecond},
			want: []bool{true, false, false, true, false},
		},
		{
			name: "no limit", limit: 0, span: time.Second,
			at:   []time.Duration{0, 0, 0},
			want: []bool{true, true, true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := Window{Limit: tc.limit, Span: tc.span}
			var got []bool
			for _, d := range tc.at {
				got = append(got, w.Allow(t0.Add(d)))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Allow = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWindowLen(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	w := Window{Span: 10 * time.Second}
	for _, d := range []time.Duration{0, time.Second, 5 * time.Second} {
		w.Add(t0.Add(d))
	}
	var got []int
	for _, d := range []time.Duration{5 * time.Second, 10 * time.Second, 11 * time.Second, 15 * time.Second} {
		got = append(got, w.Len(t0.Add(d)))
	}
	if want := []int{3, 2, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("Len = %v, want %v", got, want)
	}
}

// TestUnlimitedWindowStaysSmall: a window with no limit still forgets the
// events older than its span, so a long demo run does not grow it.
func TestUnlimitedWindowStaysSmall(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	w := Window{Span: 10 * time.Second}
	for i := range 1000 {
		if !w.Allow(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("event %d refused by an unlimited window", i)
		}
	}
	if n := len(w.hits); n != 10 {
		t.Errorf("the window holds %d events, want the 10 of the last span", n)
	}
}

// TestWindowWait: the time until one more event fits, for a Retry-After.
func TestWindowWait(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	w := Window{Limit: 2, Span: 10 * time.Second}
	var got []time.Duration
	for _, d := range []time.Duration{0, 3 * time.Second} {
		got = append(got, w.Wait(t0.Add(d)))
		w.Add(t0.Add(d))
	}
	for _, d := range []time.Duration{4 * time.Second, 9 * time.Second, 10 * time.Second} {
		got = append(got, w.Wait(t0.Add(d)))
	}
	if want := []time.Duration{0, 0, 6 * time.Second, time.Second, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("Wait = %v, want %v", got, want)
	}
}
