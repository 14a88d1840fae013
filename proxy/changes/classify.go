package changes

import "github.com/graphvcr/graphvcr/cassette/timeline"

// Classes of change notifications, as Classify names them (besides
// "<resource> <changeType>", such as "callRecord created").
const (
	ClassValidation              = timeline.ClassValidation
	ClassReauthorizationRequired = timeline.ClassReauthorizationRequired
	ClassSubscriptionRemoved     = timeline.ClassSubscriptionRemoved
	ClassMissed                  = timeline.ClassMissed
)

// Classify names what a notification request is, for show and diff:
// "validation" for Graph's validation request (POST with validationToken),
// the lifecycleEvent of a lifecycle notification ("reauthorizationRequired",
// "subscriptionRemoved", "missed"), else "<resource> <changeType>" such as
// "callRecord created" or "presence updated" (distinct classes of a batch
// joined by ", "). It returns "" for anything else, such as a calling
// bot's commsNotifications, so a caller can fall back to its own classes.
//
// The classification itself is timeline.ChangeClass: show and diff, which
// may not import proxy, use it directly.
func Classify(method, rawURL string, body []byte) string {
	return timeline.ChangeClass(method, rawURL, body)
}
