package scoring

import "testing"

func TestDefaultsValidate(t *testing.T) {
	s := DefaultSettings()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("default settings invalid: %v", errs)
	}
	if errs := ValidateTaskRules(DefaultTaskRules()); len(errs) > 0 {
		t.Fatalf("default rules invalid: %v", errs)
	}
}
