package proxy

import "testing"

// TestDivergedRule pins the one divergence rule every summary uses.
func TestDivergedRule(t *testing.T) {
	deliveries := []struct {
		name string
		d    Delivery
		want bool
	}{
		{"same class", Delivery{RecordedStatus: 202, Status: 200}, false},
		{"other class", Delivery{RecordedStatus: 202, Status: 500}, true},
		{"not delivered", Delivery{RecordedStatus: 202, Error: "refused"}, true},
		{"no recorded answer", Delivery{RecordedStatus: 0, Status: 500}, false},
	}
	for _, tc := range deliveries {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Diverged(); got != tc.want {
				t.Errorf("Delivery.Diverged() = %v, want %v", got, tc.want)
			}
			rep := Report{Notifications: []Delivery{tc.d}}
			if got := rep.Diverged(); got != tc.want {
				t.Errorf("Report.Diverged() = %v, want %v", got, tc.want)
			}
		})
	}
	abandons := []struct {
		name string
		a    Abandonment
		want bool
	}{
		{"reproduced", Abandonment{Reproduced: true}, false},
		{"closed", Abandonment{Closed: true}, false},
		{"waited longer", Abandonment{}, true},
	}
	for _, tc := range abandons {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Diverged(); got != tc.want {
				t.Errorf("Abandonment.Diverged() = %v, want %v", got, tc.want)
			}
			rep := Report{Abandoned: []Abandonment{tc.a}}
			if got := rep.Diverged(); got != tc.want {
				t.Errorf("Report.Diverged() = %v, want %v", got, tc.want)
			}
		})
	}
	if !(Report{Unmatched: []Unmatched{{Method: "GET", Path: "/x"}}}).Diverged() {
		t.Error("an unmatched request is a divergence")
	}
}
