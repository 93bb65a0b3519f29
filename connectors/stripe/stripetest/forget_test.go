package stripetest

import (
	"reflect"
	"testing"
	"time"
)

// TestForgetExpiredEvents: with ForgetExpiredEvents, an event past the 30
// days the API serves loses its payload once a later event is emitted;
// without it every payload is kept.
func TestForgetExpiredEvents(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		forget bool
		want   []bool // has Object, per event
	}{
		{false, []bool{true, true, true}},
		{true, []bool{false, true, true}},
	} {
		s := NewServer(Options{Now: t0, ForgetExpiredEvents: tc.forget})
		s.AddCustomer(Customer{ID: "cus_old"})
		s.SetNow(t0.Add(EventRetention - time.Hour)) // the first is not expired yet
		s.AddCustomer(Customer{ID: "cus_mid"})
		s.SetNow(t0.Add(EventRetention + time.Hour))
		s.AddCustomer(Customer{ID: "cus_new"})
		var got []bool
		for _, e := range s.Events() {
			got = append(got, e.Object != nil)
		}
		s.Close()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("forget %v: payload kept %v, want %v", tc.forget, got, tc.want)
		}
	}
}

// TestEventsFrom: EventCount and EventsFrom(n) are len(Events()) and
// Events()[n:] without rendering the events before n.
func TestEventsFrom(t *testing.T) {
	s := NewServer(Options{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	defer s.Close()
	for _, id := range []string{"cus_a", "cus_b", "cus_c"} {
		s.AddCustomer(Customer{ID: id})
	}
	all := s.Events()
	if got := s.EventCount(); got != len(all) || got != 3 {
		t.Fatalf("EventCount %d, want %d (3 customers created)", got, len(all))
	}
	for n := -1; n <= len(all)+1; n++ {
		want := all[min(max(n, 0), len(all)):]
		if got := s.EventsFrom(n); !reflect.DeepEqual(got, want) {
			t.Errorf("EventsFrom(%d) = %v, want %v", n, got, want)
		}
	}
}
