// Package proxy is graphvcr's two modes: the Recorder, which stands between
// a bot and Microsoft Graph and writes every exchange, redacted, to a
// cassette, and the Replayer, which stands in for Graph and answers the bot
// from a cassette. Each has a graph listener (the bot's Graph and token base
// URL, or its HTTPS_PROXY) and admin endpoints under /__graphvcr/ (admin.go).
// Files say their side: record_*.go and replay_*.go (with internal/match,
// the replay matcher); the rest is shared.
//
// # Record
//
// StartRecorder (record.go) builds a Recorder (newRecorder: transports,
// goproxy, the call tracker) and listens (Recorder.listen): the graph
// listener serves goproxy, the notification listener serves serveNotify.
//
// A Graph or token request, followed from the graph listener:
//
//  1. goproxy hands a request with a relative URL (reverse mode: the
//     listener is the bot's base URL) to Recorder.serveReverse
//     (record_graph.go), which answers /__graphvcr/ itself, picks the
//     route (loginPath in endpoints.go: the token upstream, else Graph),
//     makes the URL absolute and feeds it back to goproxy. A CONNECT
//     (forward mode) goes to Recorder.onConnect, which MITMs the hosts
//     knownHosts (endpoints.go) gives a kind and tunnels any other.
//  2. Both ways meet in Recorder.onRequest, goproxy's one request hook,
//     which calls Recorder.exchange (record_exchange.go) with the route.
//  3. exchange registers the exchange in flight (beginExchange, which
//     Close waits for), notes a Graph request in the call tracker on
//     arrival (callTracker.begin, record_calls.go: a notification arriving
//     from now on may be about it), and runs Recorder.relay in the
//     toUpstream direction.
//  4. relay is the step both directions share: it copies the header
//     without hop-by-hop headers (removeHopHeaders, headers.go), reads the
//     body (readBoundedSize, decode.go), sends the request on with a
//     context detached from the bot's (watchAbandon notes when the bot
//     gives up; Close ends what nobody waits for), reads the answer, and
//     fills a cassette.Event: Recorder.redactInto decodes each body
//     (storable) and redacts it with the redact.Redactor. Recorder.commit
//     appends the event to the cassette, durable on return (group commit:
//     cassette.Writer.Append), before anything is relayed. A failure at any
//     step is recorded as well (Recorder.fail) and answered by graphvcr.
//  5. The direction's settled hook (settleUpstream) files the committed
//     exchange under its calls (callTracker.finish), and exchange rewrites
//     absolute upstream URLs in the answer to the base the bot used
//     (relayRewriter, rewrite.go) and returns it to goproxy as an
//     http.Response (relayResponse), which relays it to the bot.
//
// A notification, followed from the notification listener:
//
//  1. Recorder.serveNotify (record_notify.go) takes its place in the call
//     tracker on arrival (callTracker.mark), registers it in flight and
//     runs relay in the toBot direction, with the Authorization header kept
//     aside for Recorder.bearer.
//  2. relay does as above, with toBot's differences: the body is read and
//     the calls it is about found (notificationCallIDs); the request to the
//     bot (cfg.Bot plus the path) ends with Graph's; before the commit the
//     event gets its trigger (callTracker.trigger: the latest exchange on
//     the same call that arrived before it, waiting briefly for that one's
//     commit) and the non-secret parts of its bearer token.
//  3. Once the event is committed, serveNotify writes the bot's answer to
//     Graph; an unrecorded notification is answered 500, so Graph retries.
//
// Change notifications (record_changes.go) take the same path, with
// their secrets replaced in what is stored (Recorder.changeSecrets, called
// by redactInto): clientState and encryptionCertificate of subscriptions,
// clientState and validationTokens of notifications (the tokens' claims
// kept under changes.ClaimsField), encryptedContent decrypted with
// RecordConfig.DecryptKey or removed. Graph's validation request is the
// one notification answered before its commit: its trigger, the POST
// /subscriptions it belongs to (filed in the call tracker under
// subscriptionsKey), is answered by Graph only once the echo is back, so
// serveNotify sets rawExchange.early, which relay calls with the app's
// answer before it waits for the trigger's commit.
//
// Close (record.go) stops both listeners, waits for the exchanges in
// flight (bounded by its context), and leaves the cassette to its owner.
//
// # Replay
//
// StartReplayer (replay.go) is NewReplayer then Replayer.Start, as
// httptest's NewUnstartedServer then Start. NewReplayer reads the
// cassette's heads once (Replayer.load, replay_load.go) into the matcher
// (match.Matcher, proxy/internal/match, which keeps its lock, the session's
// bindings and which exchanges were used to itself), the offline token
// endpoint's list and the notification scheduler (replay_schedule.go,
// given its hooks there); Start binds the graph listener and starts the
// scheduler. Replayer.serveHTTP sends each request to the first of:
// serveConnect (replay_forward.go, HTTPS_PROXY tunnels), the admin
// endpoints (admin.go, replay_report_build.go), serveMetadata
// (replay_openid.go, the OpenID documents of notification tokens),
// tokenEndpoint.serve (replay_token.go, the offline login endpoints) and
// serveGraph (replay_serve.go): Matcher.Match finds the recorded exchange,
// or noMatch (replay_nomatch.go) answers with the nearest ones, and
// Replayer.answer serves it, rendered with the live values bound so far
// (Matcher.Render). The scheduler prepares each recorded notification
// (Replayer.prepareNotification, replay_notify.go), signed by a Signer
// (replay_sign.go), and delivers it at its due time. The report
// (replay_report.go) holds the one divergence rule: Report.Diverged,
// through Delivery.Diverged, Abandonment.Diverged and Validation.Diverged.
//
// Change notifications (replay_changes.go): load leaves the recorded
// validation requests out of the scheduler and matches subscription
// requests on subscriptionMatchBody (without what each app chooses:
// clientState, certificate, URL hosts, expiration). serveGraph hands a
// matched POST or PATCH /subscriptions to serveSubscription, which for a
// POST does Graph's handshake with the bot (validate) before answering
// the recorded 201 with the live values (changes.BindSubscription) and
// keeps the live subscription under the id answered. notificationRequest
// passes each body through liveChange: bound to that subscription,
// re-encrypted for its certificate, validation tokens signed with the
// Signer's key, which serveChangeKeys publishes at the identity
// platform's key set paths.
//
// Faults (ReplayConfig.Faults, replay_faults.go): load builds the
// fault.Plan from every recorded head; serveGraph matches with
// Replayer.matchFaulted, which decides the request fault of the
// occurrence under the matcher's lock (Matcher.MatchKeep: a status or
// reset leaves the recorded exchange unused, for the bot's retry) and
// Replayer.answerFaulted serves it; the scheduler asks its fault hook for
// each notification when it is the next to go and drops, delays (from a
// goroutine of its own, so later ones keep their due times), duplicates
// or holds it for a reorder. Each fault applied is listed in Report.Faults.
package proxy
