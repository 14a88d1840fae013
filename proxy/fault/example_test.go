package fault_test

import (
	"fmt"
	"log"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy/fault"
)

// Example shows the two places replay asks a plan: before scheduling each
// recorded notification, and when a live request matched a recorded
// exchange (here, the bot sending the invite twice: a 429, then its retry).
func Example() {
	r, err := cassette.Open("../../cassettes/single-invite.bolt")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	heads, err := timeline.Heads(r)
	if err != nil {
		log.Fatal(err)
	}

	var specs []fault.Spec
	for _, s := range []string{
		"duplicate:match=established",
		"status:code=429,retry-after=1,match=*/participants/invite,nth=1",
		"drop:match=incoming",
	} {
		spec, err := fault.Parse(s)
		if err != nil {
			log.Fatal(err) // the CLI prints it and exits 2
		}
		specs = append(specs, spec)
	}
	plan, warnings, err := fault.New(7, specs, heads)
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	fmt.Println(fault.SeedLine(7))

	for _, h := range heads {
		if h.Kind == cassette.KindNotification {
			if f := plan.Notification(h.Seq); f.Action != fault.None {
				fmt.Printf("#%d %s: %s\n", h.Seq, f.Action, f.Detail())
			}
		}
	}
	occurrences := plan.Counter()
	for range 2 {
		occ := occurrences.Next(5)
		f := plan.Request(5, occ)
		fmt.Printf("#5 occurrence %d: %s\n", occ, f.Detail())
	}
	// Output:
	// warning: fault "drop:match=incoming": match=incoming selects no notification; classes in the cassette: call establishing, call established, operation completed, roster updated
	// faults: seed 7 — rerun with --seed 7
	// #4 duplicate: delivered twice, the copy 0s after the bot answered the first
	// #5 occurrence 1: answered 429 activityLimitReached instead of the recorded answer, Retry-After: 1
	// #5 occurrence 2: answered as recorded
}
