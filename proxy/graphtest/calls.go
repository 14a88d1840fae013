package graphtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// call is a call the simulator knows.
type call struct {
	id              string // dashed lower case, as issued
	version         string // v1.0 or beta, as created
	callbackURI     string // as the bot gave it
	state           string
	threadID        string
	myParticipantID string
	chainID         string
	created         map[string]json.RawMessage // the create request, echoed
	roster          []member
	last            chan struct{} // closed when the latest notification sequence ends; guarded by g.mu
}

// member is a participant in a call's roster.
type member struct {
	id       string // participant id, dashed lower case
	sourceID string
	inv      invitee
}

// identity is one entry of an identitySet.
type identity struct {
	ID               string `json:"id,omitempty"`
	DisplayName      string `json:"displayName,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
	IdentityProvider string `json:"identityProvider,omitempty"`
}

// identitySet is Graph's identitySet, with the kinds a calling bot invites.
type identitySet struct {
	User                *identity `json:"user,omitempty"`
	Phone               *identity `json:"phone,omitempty"`
	Application         *identity `json:"application,omitempty"`
	ApplicationInstance *identity `json:"applicationInstance,omitempty"`
	Guest               *identity `json:"guest,omitempty"`
}

// invitee is one invitationParticipantInfo of an invite request.
type invitee struct {
	ODataType      string      `json:"@odata.type,omitempty"`
	EndpointType   string      `json:"endpointType,omitempty"`
	Identity       identitySet `json:"identity"`
	LanguageID     string      `json:"languageId,omitempty"`
	Region         string      `json:"region,omitempty"`
	ReplacesCallID string      `json:"replacesCallId,omitempty"`
}

// kind and who name the identity being invited ("user", id).
func (i invitee) who() (kind string, id *identity) {
	switch {
	case i.Identity.User != nil:
		return "user", i.Identity.User
	case i.Identity.Phone != nil:
		return "phone", i.Identity.Phone
	case i.Identity.ApplicationInstance != nil:
		return "applicationInstance", i.Identity.ApplicationInstance
	case i.Identity.Application != nil:
		return "application", i.Identity.Application
	case i.Identity.Guest != nil:
		return "guest", i.Identity.Guest
	}
	return "", nil
}

// routes maps every endpoint.
func (g *Graph) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", g.handleToken)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", g.handleOpenIDConfig)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", g.handleKeys)
	mux.HandleFunc("GET /common/discovery/instance", g.handleInstanceDiscovery)
	mux.HandleFunc("GET /v1/.well-known/OpenIdConfiguration", g.handleNotificationConfig)
	mux.HandleFunc("GET /v1/.well-known/keys", g.handleKeys)

	for _, root := range []string{"communications/calls", "app/calls"} {
		legacy := root == "app/calls"
		p := "/{version}/" + root
		mux.HandleFunc("POST "+p, g.requireToken(g.versioned(g.handleCreateCall)))
		mux.HandleFunc("GET "+p+"/{call}", g.requireToken(g.versioned(g.handleGetCall)))
		mux.HandleFunc("DELETE "+p+"/{call}", g.requireToken(g.versioned(g.handleDeleteCall)))
		mux.HandleFunc("GET "+p+"/{call}/participants", g.requireToken(g.versioned(g.handleParticipants)))
		mux.HandleFunc("POST "+p+"/{call}/participants/invite", g.requireToken(g.versioned(func(w http.ResponseWriter, r *http.Request) {
			g.handleInvite(w, r, legacy)
		})))
		mux.HandleFunc("GET "+p+"/{call}/operations/{op}", g.requireToken(g.versioned(g.handleGetOperation)))
	}
	g.subscriptionRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g.graphError(w, r, http.StatusNotFound, "BadRequest", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.")
	})
	return g.misbehaving(g.logged(g.delayed(mux)))
}

// delayed holds each answer of next for GraphOptions.AnswerDelay: the
// handler runs at once into a buffer, which is written out after the delay
// unless the client or the simulator gives up first.
func (g *Graph) delayed(next http.Handler) http.Handler {
	if g.opts.AnswerDelay == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := g.opts.AnswerDelay(r)
		if d <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		held := &heldAnswer{header: http.Header{}}
		next.ServeHTTP(held, r)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-g.ctx.Done():
			return
		}
		for k, vs := range held.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(held.status)
		w.Write(held.body.Bytes())
	})
}

// heldAnswer is a ResponseWriter that keeps the answer for later.
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

// logged logs each request at debug level (method and path only).
func (g *Graph) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.logger.Debug("graph request", "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

// versioned rejects versions other than v1.0 and beta.
func (g *Graph) versioned(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("version") {
		case "v1.0", "beta":
			next(w, r)
		default:
			g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version: "+r.PathValue("version"))
		}
	}
}

// lookup finds the call named in the path, answering 404 when unknown.
func (g *Graph) lookup(w http.ResponseWriter, r *http.Request) *call {
	g.mu.Lock()
	c := g.calls[canonicalID(r.PathValue("call"))]
	g.mu.Unlock()
	if c == nil {
		g.graphError(w, r, http.StatusNotFound, "8502", "Call "+r.PathValue("call")+" not found.")
	}
	return c
}

// handleCreateCall creates an outgoing call: 201 with the call in state
// establishing, then "establishing" and "established" notifications.
func (g *Graph) handleCreateCall(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
		return
	}
	var cb string
	if raw, ok := req["callbackUri"]; !ok || json.Unmarshal(raw, &cb) != nil || cb == "" {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "CallbackUri is required.")
		return
	}
	if u, err := url.Parse(cb); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "CallbackUri must be an absolute http(s) URI.")
		return
	}
	trigger := g.since()
	c := &call{
		id:              g.ids.guid(),
		version:         r.PathValue("version"),
		callbackURI:     cb,
		state:           "establishing",
		myParticipantID: g.ids.guid(),
		chainID:         g.ids.guid(),
		created:         req,
	}
	c.threadID = "19:meeting_" + base64.RawStdEncoding.EncodeToString([]byte(g.ids.guid())) + "@thread.v2"
	c.roster = []member{{id: c.myParticipantID, sourceID: "1", inv: invitee{
		Identity: identitySet{Application: &identity{ID: g.clientID, DisplayName: "graphtest bot", TenantID: g.tenantID}},
	}}}
	g.mu.Lock()
	g.calls[canonicalID(c.id)] = c
	g.mu.Unlock()

	g.graphHeaders(w, r)
	resp := g.callBody(r, c)
	w.Header().Set("Location", g.baseURL(r)+"/"+c.version+"/communications/calls/"+c.id)
	write(w, r, http.StatusCreated, odataJSON, mustJSON(resp))

	d1 := g.ids.between(80*time.Millisecond, 250*time.Millisecond)
	d2 := d1 + g.ids.between(400*time.Millisecond, 1200*time.Millisecond)
	g.schedule(trigger, c, []pending{
		{delay: d1, body: commsBody(c.stateNote("establishing")), apply: func() {}},
		{delay: d2, body: commsBody(c.stateNote("established")), apply: func() { c.state = "established" }},
	})
}

// callBody renders the call resource as Graph answers it.
func (g *Graph) callBody(r *http.Request, c *call) obj {
	g.mu.Lock()
	state := c.state
	g.mu.Unlock()
	echo := func(k string, def any) any {
		if v, ok := c.created[k]; ok {
			return v
		}
		return def
	}
	return obj{
		{"@odata.context", g.baseURL(r) + "/" + r.PathValue("version") + "/$metadata#communications/calls/$entity"},
		{"@odata.type", "#microsoft.graph.call"},
		{"state", state},
		{"direction", "outgoing"},
		{"callbackUri", c.callbackURI},
		{"callChainId", c.chainID},
		{"subject", echo("subject", nil)},
		{"requestedModalities", echo("requestedModalities", []string{"audio"})},
		{"activeModalities", []string{}},
		{"mediaConfig", echo("mediaConfig", nil)},
		{"chatInfo", obj{
			{"@odata.type", "#microsoft.graph.chatInfo"},
			{"threadId", c.threadID},
			{"messageId", "0"},
			{"replyChainMessageId", nil},
		}},
		{"meetingInfo", echo("meetingInfo", nil)},
		{"source", echo("source", nil)},
		{"targets", echo("targets", []string{})},
		{"tenantId", echo("tenantId", g.tenantID)},
		{"myParticipantId", c.myParticipantID},
		{"routingPolicies", []string{}},
		{"resultInfo", nil},
		{"answeredBy", nil},
		{"incomingContext", nil},
		{"toneInfo", nil},
		{"id", c.id},
	}
}

// handleGetCall answers GET .../calls/{id}.
func (g *Graph) handleGetCall(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(w, r)
	if c == nil {
		return
	}
	g.graphHeaders(w, r)
	write(w, r, http.StatusOK, odataJSON, mustJSON(g.callBody(r, c)))
}

// handleParticipants answers GET .../calls/{id}/participants.
func (g *Graph) handleParticipants(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(w, r)
	if c == nil {
		return
	}
	g.mu.Lock()
	roster := append([]member(nil), c.roster...)
	g.mu.Unlock()
	items := make([]obj, 0, len(roster))
	for _, m := range roster {
		items = append(items, participantBody(m, false, ""))
	}
	g.graphHeaders(w, r)
	write(w, r, http.StatusOK, odataJSON, mustJSON(obj{
		{"@odata.context", g.baseURL(r) + "/" + r.PathValue("version") + "/$metadata#communications/calls('" + c.id + "')/participants"},
		{"value", items},
	}))
}

// handleDeleteCall hangs up: 204, then one body holding the call's
// "terminated" update and its deletion.
func (g *Graph) handleDeleteCall(w http.ResponseWriter, r *http.Request) {
	c := g.lookup(w, r)
	if c == nil {
		return
	}
	trigger := g.since()
	g.mu.Lock()
	gone := c.state == "terminated"
	g.mu.Unlock()
	g.graphHeaders(w, r)
	write(w, r, http.StatusNoContent, "", nil)
	if gone {
		return
	}
	d := g.ids.between(100*time.Millisecond, 400*time.Millisecond)
	term := c.stateNote("terminated")
	del := c.deletedNote()
	g.schedule(trigger, c, []pending{{delay: d, body: commsBody(term, del), apply: func() {
		c.state = "terminated"
		delete(g.calls, canonicalID(c.id))
	}}})
}
