package cassette

import (
	"net/http"
	"time"
)

// Kind says which way an event crossed graphvcr.
type Kind uint8

const (
	// KindGraph is an exchange the bot sent to Graph.
	KindGraph Kind = 1
	// KindNotification is a webhook Graph sent to the bot.
	KindNotification Kind = 2
	// KindToken is an exchange with the token endpoint (or its OpenID discovery documents).
	KindToken Kind = 3
)

// String returns "graph", "notification" or "token".
func (k Kind) String() string {
	switch k {
	case KindGraph:
		return "graph"
	case KindNotification:
		return "notification"
	case KindToken:
		return "token"
	}
	return "unknown"
}

// Event is one recorded exchange. Everything in it has already been redacted:
// a cassette never holds an original identifier or a secret.
type Event struct {
	// Seq numbers events from 1 in the order they were appended. Append sets it.
	Seq uint64
	// Kind says whether this is a Graph exchange, a notification or a token exchange.
	Kind Kind
	// Offset is when the request arrived, measured from session start on the monotonic clock.
	Offset time.Duration
	// Latency is how long the upstream took to answer (Graph or the token endpoint);
	// for a notification, how long the bot took to answer it.
	Latency time.Duration
	// Trigger is, for a notification, the Seq of the exchange that caused it;
	// zero means session start. Always zero for other kinds.
	Trigger uint64
	// Request is what the bot sent upstream (or, for a notification, what Graph sent the bot).
	Request Request
	// Response is what the upstream answered (for a notification, the bot's answer).
	// When Error is set, Response.Status is the status the client was given (usually 502).
	// When Abandoned is set, the bot never saw it: it is what Graph answered after.
	Response Response
	// Error describes a transport failure ("connection reset by peer", "timeout");
	// empty when a response arrived.
	Error string
	// Abandoned is, for a Graph or token exchange the bot gave up on (its
	// timeout fired, or it closed the connection) before the answer came,
	// how long after the request arrived it gave up; zero means the bot was
	// still waiting when the answer (or Error) came. The upstream request
	// went on regardless: Response (or Error) is what the upstream did.
	//
	// Events stored before this field existed recorded an abandoned
	// exchange as a 502 with Error "canceled" and no answer; reading one
	// sets Abandoned to its Latency (when graphvcr stopped waiting, at
	// least 1ns) and keeps its Error, Response and Latency as stored. An
	// event with both Abandoned and Error set is one whose upstream answer
	// is unknown (it failed, or was never recorded).
	Abandoned time.Duration
	// Bearer holds the non-secret parts of a notification's Authorization JWT;
	// nil when the notification carried no bearer token.
	Bearer *Bearer
}

// Request is the request half of an exchange.
type Request struct {
	Method string
	// URL is absolute (scheme://host/path?query), as sent to the upstream or the bot.
	URL    string
	Header http.Header
	// Body is decoded (no Content-Encoding applies to it) and redacted.
	Body []byte
}

// Response is the response half of an exchange.
type Response struct {
	Status int
	Header http.Header
	// Body is decoded (no Content-Encoding applies to it) and redacted.
	Body []byte
}

// Bearer is what is kept of a JWT bearer token: never the token or its signature,
// only its header fields and claims (already redacted) and its lifetime.
type Bearer struct {
	// Header holds the JOSE header fields (alg, kid, typ).
	Header map[string]string
	// Claims holds the string claims worth replaying (iss, aud, tid, appid, ...).
	Claims map[string]string
	// Lifetime is exp − iat.
	Lifetime time.Duration
	// Malformed is true when the Authorization header held something that did not parse as a JWT.
	Malformed bool
}

// Meta describes a cassette as a whole.
type Meta struct {
	// FormatVersion is the schema version the file was written with.
	FormatVersion int
	// Created is when recording started.
	Created time.Time
	// Version is the graphvcr version that wrote the file.
	Version string
	// Upstream is the base URL of Graph as recorded, in the redacted form
	// the stored URLs use (e.g. "https://graph.microsoft.com"): replay
	// rewrites it to its own listener in what it serves.
	Upstream string
	// TokenUpstream is the base URL of the token endpoint, likewise.
	TokenUpstream string
	// Swept says whether the recorder swept the cassette when it closed:
	// rewrote the events recorded before a name or host was learned, so
	// that value is replaced there too (see Writer.Rewrite). A cassette
	// written before sweeping existed has SweepUnknown.
	Swept SweepState
	// RecordedFrom is set on a cassette written by a replay (replay
	// --record-actual: what the bot actually did): the recording it
	// replayed, as its file's base name and content hash,
	// "single-invite.bolt sha256:9f2c…". Empty on a recording.
	RecordedFrom string
}

// SweepState is a cassette's sweep status (Meta.Swept).
type SweepState int

const (
	// SweepUnknown is a cassette whose meta has no sweep status: written by
	// a graphvcr that did not sweep.
	SweepUnknown SweepState = iota
	// SweepPending is a cassette recorded (or appended to) and not swept
	// since: the recorder did not close cleanly (it was killed), or the
	// cassette was written without a recorder.
	SweepPending
	// SweepDone is a cassette swept by a clean close.
	SweepDone
)

// String names the state as the meta bucket stores it.
func (s SweepState) String() string {
	switch s {
	case SweepPending:
		return "no"
	case SweepDone:
		return "yes"
	}
	return "unknown"
}
