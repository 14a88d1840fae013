package proxy

import "testing"

// TestDivergedRule pins the one divergence rule every summary uses: each
// item's own Diverged, and the report's, which must agree with it.
func TestDivergedRule(t *testing.T) {
	tests := []struct {
		name string
		item interface{ Diverged() bool } // a Delivery or an Abandonment
		want bool
	}{
		{"same class", Delivery{RecordedStatus: 202, Status: 200}, false},
		{"other class", Delivery{RecordedStatus: 202, Status: 500}, true},
		{"not delivered", Delivery{RecordedStatus: 202, Error: "refused"}, true},
		{"no recorded answer", Delivery{RecordedStatus: 0, Status: 500}, false},
		{"reproduced", Abandonment{Reproduced: true}, false},
		{"closed", Abandonment{Closed: true}, false},
		{"waited longer", Abandonment{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.item.Diverged(); got != tc.want {
				t.Errorf("%T.Diverged() = %v, want %v", tc.item, got, tc.want)
			}
			var rep Report
			switch item := tc.item.(type) {
			case Delivery:
				rep.Notifications = []Delivery{item}
			case Abandonment:
				rep.Abandoned = []Abandonment{item}
			default:
				t.Fatalf("no report list for %T", item)
			}
			if got := rep.Diverged(); got != tc.want {
				t.Errorf("Report.Diverged() = %v, want %v", got, tc.want)
			}
		})
	}
	if !(Report{Unmatched: []Unmatched{{Method: "GET", Path: "/x"}}}).Diverged() {
		t.Error("an unmatched request is a divergence")
	}
}
