// Package diff compares two cassettes: it aligns their sessions and lists
// what differs, in the order of the session, as text for a terminal, JSON
// for scripts, or a self-contained HTML page showing both timelines side by
// side.
//
// Events are grouped by call as `graphvcr show` groups them; the calls of
// the two cassettes are paired in the order they first appear, and within
// each pair of calls the events are aligned on their keys (direction,
// method, path shape and, for a notification, what it reports) with Myers'
// shortest-edit-script algorithm, so a request present in one session only
// is one difference, not a cascade of mismatches. Events aligned with the
// same key are then compared field by field: method, path, query, status,
// transport error, request and response bodies (as JSON, by field path,
// when both are JSON; as text otherwise) and the gap since the previous
// aligned event, against a tolerance. Headers are not compared: they carry
// dates and request ids that differ in every session.
//
// Where the alignment leaves an event of A and one of B facing each other
// unmatched, and they have the same direction and the same method or path
// shape, they are one event changed (a Method or Path difference; the same
// request whose notification reports something else is compared field by
// field). An event removed in one place and added in another of the same
// call is one Order difference.
//
// Timing compares the gap between an event and the previous aligned one:
// a delay that holds for the rest of the session is one difference, where
// comparing offsets from session start would flag every later event.
//
// Pseudonyms (every GUID a cassette holds, whatever its form) compare by
// structure: the first time an id of A meets an id of B in aligned events,
// they are bound to each other, and a difference is reported only where that
// binding breaks (an id of A meets another id of B, or two ids of A meet one
// of B). Two recordings of the same session whose pseudonyms are numbered
// differently are equal. Other pseudonyms (phone numbers, names) compare as
// text.
//
// Memory grows with the number of events, not with their bodies: the
// alignment reads event heads only, and bodies are read one aligned pair at
// a time.
package diff
