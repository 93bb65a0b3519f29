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
