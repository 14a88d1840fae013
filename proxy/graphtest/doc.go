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
package graphtest
