// Package fault plans the faults replay injects into a recorded session, so
// that a bot meets, on demand and reproducibly, what real Graph does now and
// then: throttling, transient errors, slow answers, and webhooks that come
// late, twice, out of order or not at all.
//
// # Specs
//
// Each --fault is a Spec, ACTION[:key=value[,key=value…]], read by Parse.
// Four actions act on notifications (graphvcr → bot):
//
//   - drop: the notification is never delivered. Graph's change
//     notifications are best effort: a delivery that keeps failing is given
//     up on, and a bot must recover its state some other way (a GET of the
//     call, a later notification).
//   - duplicate: it is delivered, then the same body again (by= after the
//     bot answered the first; right away by default). Delivery is at least
//     once: a notification whose answer was lost or slow is sent again, so a
//     bot must handle each one idempotently.
//   - delay: it is delivered by= later than due. Later notifications keep
//     their own due times, so a long delay lets them overtake it, as when
//     Graph's retry of one delivery lands after the next one.
//   - reorder: it swaps places with the next notification recorded for the
//     same call. Graph does not promise order between deliveries: a bot must
//     not let an older state (a stale "establishing") undo a newer one.
//
// Three act on the bot's requests (bot → graphvcr):
//
//   - status: the request is answered code= (503 by default) with a body
//     shaped like Graph's errors and, with retry-after=, a Retry-After in
//     seconds. 429 is throttling: Graph's guidance is to wait the seconds
//     Retry-After gives, then retry, and to back off exponentially when it
//     gives none. 503 and 504 are transient failures of the service or of a
//     gateway in front of it, worth a retry after a delay. The recorded
//     answer is kept for the retry.
//   - reset: the connection closes with no answer, as a dropped connection
//     or an idle timeout on the way to Graph would. The retry gets the
//     recorded answer.
//   - latency: the answer comes by= later than recorded.
//
// Keys: match= selects events, p= is the chance each selected event gets the
// fault (default 1), nth= keeps only the Nth selected event. by= is a
// duration or a range a..b drawn uniformly per event. code= and retry-after=
// belong to status.
//
// match= is either a notification class as `graphvcr show` prints it (one
// or more consecutive words: "established", "roster", "operation failed";
// or a glob with "*") or a glob over the recorded request path, with an
// optional method ("*/participants/invite", "POST */calls", "POST:*/calls").
// In a glob "*" matches any run of characters, "/" included; case and the
// query string are ignored. A value holding "/" and no space, or starting
// with a method, is a path glob; anything else is a class. Without match=,
// a notification action selects every notification and a request action
// every Graph request; token endpoint exchanges are never faulted.
//
// # Determinism
//
// A decision is a pure function of (seed, spec index, recorded event seq,
// occurrence): a hash, never a shared random stream. Whatever the bot's
// timing or concurrency, and in whatever order replay asks, the same seed,
// specs and cassette give the same faults on the same events.
//
// Notification faults are decided once, in New, in recorded order: nth=
// counts selected notifications in recorded order, and when several specs
// choose the same notification the first spec given wins (a reorder pair
// claims both of its notifications). Request faults are decided per
// occurrence, because a bot may send the request of one recorded exchange
// several times (a retry, a poll): nth= counts selected exchanges in
// recorded order and faults only the first occurrence of the Nth, so that
// it does not depend on the order the bot sends its requests in; p= draws
// anew for each occurrence. A status or reset never hits the occurrence
// after one that a status or reset drew: the retry of a withheld answer
// gets it, as the issue describes and as a transient failure would.
//
// # Use
//
// Replay builds one Plan with New from the cassette's heads
// (timeline.HeadOf of each event it loads), asks Plan.Notification before
// scheduling each recorded notification, and Plan.Request when a live
// request matched a recorded exchange, numbering the occurrences with a
// Counter; it appends a Record for each fault applied to its report. A
// Plan never changes after New and is safe for concurrent use.
package fault
