// Package graphtest provides test doubles for Microsoft Graph calling bots, in
// the spirit of net/http/httptest: Graph, a simulator of the Azure AD token
// endpoint and the Graph cloud-communications API (calls, participants:
// invite, operations) that pushes webhook notifications shaped like the
// "participant: invite" documentation examples, and Bot, a sample calling bot
// that drives the simulator (or anything standing in for Graph, such as a
// recording or replaying proxy) through a set of Scenarios and checks that
// every response and notification correlates with what it asked for.
//
// Both listen on 127.0.0.1 only. Everything is deterministic for a given seed:
// the simulator's ids and notification delays are drawn from a PCG source
// seeded with GraphOptions.Seed, and the bot's clientContext, invitee ids,
// phone number and replaced-call id from BotOptions.Seed, so a bot with another
// seed presents fresh identifiers.
//
// Inviting the phone number FailPhone makes the invite operation fail with the
// documented failure notification, whose body (like the documentation's
// example) is not valid JSON: it has a trailing comma.
//
// # Graph's faults, and what the sample bot does about them
//
// Real Graph throttles, fails now and then, and delivers webhooks at least
// once and in no promised order. The simulator does each on demand
// (GraphOptions.RequestFaults, GraphOptions.NotificationFaults; Graph.Sent
// and Graph.Requests show what it did and when), and so does graphvcr
// replay with --fault. The sample bot copes as a real bot must:
//
//   - A duplicate (the same notification delivered twice: Graph redelivers
//     one whose answer was lost or slow) is acknowledged and acted on once.
//     A commsNotification has no id of its own, so an entry is known by its
//     changeType, its resource (GUIDs in any form compare equal) and a hash
//     of its resourceData; an entry equal in all three brings no news.
//   - A stale notification (an older state arriving after a newer one: a
//     delivery retried or delayed behind the next) is acknowledged and
//     ignored. The ordering evidence is the resource's own: a call's state
//     follows its lifecycle (establishing, established, terminated: it never
//     goes back) and its weak @odata.etag ("W/\"5442\"") grows; an
//     operation that completed or failed stays so; a roster carries
//     deltaParticipants' sequenceNumber when Graph sends the delta form (the
//     full-roster array carries none, so it is applied in arrival order);
//     nothing applies to a call after its deletion, nor a roster after it
//     ended. The bot's view of a call (Bot.Call) is built from the
//     notifications it applied, and each change is listed in Result.Actions.
//   - Neither counts as a failed check: "every notification correlated"
//     skips what was ignored, and the order checks accept notifications of
//     different resources in any order (Graph promises none), and two of
//     one resource out of order when the late one was ignored as stale.
//   - 429 (throttled) is retried after the Retry-After it carries (seconds,
//     or an HTTP date), as Graph's throttling guidance asks, and never
//     sooner; 503, 504 and a connection reset or closed before an answer
//     are retried with exponential backoff (BotOptions.Retry: a base, a
//     cap, a maximum number of tries). A retry keeps the request's
//     client-request-id and says Retry-Attempt, as the Graph SDKs do. A
//     wait that would outlast the request's context is not begun. Every
//     attempt is in Result.Requests (Exchange.Try).
//
// BotOptions.Naive makes a bot that does none of this: it applies every
// entry as it comes (a duplicate twice, a stale state over a newer one),
// relies on arrival order, and gives up on the first 429, 503, 504 or
// reset. Tests run it to show that faults catch these bugs.
package graphtest
