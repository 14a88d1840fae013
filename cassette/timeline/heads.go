package timeline

import (
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// Head is what the timelines show of one event, without its bodies: the
// fields a comparison of two sessions aligns on and groups by.
type Head struct {
	Seq     uint64
	Kind    cassette.Kind
	Offset  time.Duration
	Latency time.Duration
	Trigger uint64
	Method  string
	// Path is the request's path and query, without scheme and host.
	Path   string
	Status int
	Error  string
	// Abandoned is when the bot gave up on the exchange, from its arrival
	// (cassette.Event.Abandoned); zero when it did not.
	Abandoned time.Duration
	// Call is the canonical id (dashed lower case) of the call the event
	// belongs to, as show groups events; "" when it belongs to none.
	Call string
	// Kinds names what a notification reports ("operation completed"); nil
	// for other events.
	Kinds []string
}

// Heads returns the Head of every event of r in sequence order. Like show,
// it reads no response body but those of requests that create a call (the
// call's id is only in the answer), one at a time, so its memory grows with
// the number of events, not with their bodies.
func Heads(r *cassette.Reader) ([]Head, error) {
	return collect(r)
}

// Direction is the arrow a reader follows: "bot → Graph" for what the bot
// sent (to Graph or the token endpoint), "Graph → bot" for a notification.
func Direction(k cassette.Kind) string { return direction(k) }

// StatusText is "200 OK", the code alone when HTTP names no reason, or "no
// response" for 0.
func StatusText(code int) string { return statusText(code) }

// FormatOffset renders an offset from session start as "+1.204s".
func FormatOffset(d time.Duration) string { return formatOffset(d) }
