package timeline

import "github.com/graphvcr/graphvcr/cassette"

// HeadOf returns the Head of one event, as Heads would: its call and, for a
// notification, the classification show prints ("call established",
// "roster updated"). It reads e's request body, and the response body of a
// Graph exchange whose URL names no call; an event from EachHead, whose
// response body is absent, simply leaves a created call's id unknown.
func HeadOf(e *cassette.Event) Head { return summarize(e) }
