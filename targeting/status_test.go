package targeting

import (
	"testing"
	"time"
)

func TestCampaignStatus(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	before, after := now.Add(-time.Hour), now.Add(time.Hour)
	var zero time.Time
	tests := []struct {
		name       string
		state      CampaignState
		start, end time.Time
		spent      int64
		want       ServingStatus
	}{
		{"active, no schedule", StateActive, zero, zero, 0, StatusServing},
		{"unspecified reads as active", StateUnspecified, zero, zero, 0, StatusServing},
		{"inside the schedule", StateActive, before, after, 0, StatusServing},
		{"start is inclusive", StateActive, now, after, 0, StatusServing},
		{"end is inclusive", StateActive, before, now, 0, StatusServing},
		{"before start", StateActive, after, zero, 0, StatusPending},
		{"after end", StateActive, zero, before, 0, StatusEnded},
		{"budget spent", StateActive, before, after, 100, StatusBudgetExhausted},
		{"budget overspent", StateActive, zero, zero, 101, StatusBudgetExhausted},
		{"budget nearly spent", StateActive, zero, zero, 99, StatusServing},
		{"pending beats budget", StateActive, after, zero, 100, StatusPending},
		{"ended beats budget", StateActive, zero, before, 100, StatusEnded},
		{"paused beats schedule", StatePaused, after, zero, 0, StatusPaused},
		{"paused beats ended", StatePaused, zero, before, 100, StatusPaused},
		{"archived beats all", StateArchived, after, before, 100, StatusArchived},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CampaignStatus(tc.state, tc.start, tc.end, now, tc.spent, 100); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
	if got := CampaignStatus(StateActive, zero, zero, now, 5, 0); got != StatusServing {
		t.Fatalf("no total budget: got %d, want serving", got)
	}
}
