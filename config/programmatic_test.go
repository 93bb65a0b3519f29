package config

import (
	"errors"
	"github.com/healthsync/healthsync/scoring"
	"testing"
)

func TestProgrammatic(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		check   func(*Config) bool
		problem string // "" for valid
	}{
		{
			name: "defaults filled",
			cfg:  Config{Connectors: []Connector{{Name: "b", Kind: KindStripe, Schedule: "@hourly", Auth: Auth{APIKey: NewSecret("sk_test_x")}}}},
			check: func(c *Config) bool {
				return c.WriteBack.UpdateOnly && c.WriteBack.MinScoreChange == 3 && len(c.Tasks) > 0 && c.Engine.Workers == 4
			},
		},
		{
			name: "given values kept",
			cfg: Config{
				Connectors: []Connector{{Name: "b", Kind: KindStripe, Schedule: "@hourly", Auth: Auth{APIKey: NewSecret("sk_test_x")}}},
				Tasks:      []scoring.TaskRule{},
				WriteBack:  WriteBack{MinScoreChange: 10, MaxBandChangeShare: 0.5},
			},
			check: func(c *Config) bool {
				return len(c.Tasks) == 0 && c.WriteBack.MinScoreChange == 10 && c.WriteBack.MaxBandChangeShare == 0.5
			},
		},
		{
			name:    "problems by path",
			cfg:     Config{Connectors: []Connector{{Name: "b", Kind: KindStripe, Schedule: "@sometimes"}}},
			problem: "connectors[0].auth.api_key: is required for stripe\nconnectors[0].schedule: invalid cron spec \"@sometimes\": unrecognized descriptor: @sometimes",
		},
		{
			name: "subscriber events given",
			cfg: Config{
				Connectors: []Connector{{Name: "b", Kind: KindStripe, Schedule: "@hourly", Auth: Auth{APIKey: NewSecret("sk_test_x")}}},
				Notify:     Notify{Subscribers: []Subscriber{{Name: "s", URL: "https://hooks.slack.com/x", Format: FormatSlack, Events: []string{EventChurned}}}},
			},
			check: func(c *Config) bool { return len(c.Notify.Subscribers[0].Events) == 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			c.ApplyDefaults()
			err := c.Validate()
			if tt.problem != "" {
				var errs *Errors
				if !errors.As(err, &errs) || err.Error() != tt.problem {
					t.Fatalf("err = %v\nwant %s", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(&c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}
