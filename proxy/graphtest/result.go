package graphtest

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Result is what a Bot saw while running a Scenario.
type Result struct {
	// Scenario is what ran.
	Scenario Scenario
	// CallID is the call the scenario invited into, as Graph issued it;
	// OperationID the invite operation's id ("" when none was created).
	CallID, OperationID string
	// Requests lists the bot's requests to Graph and the token endpoint.
	Requests []Exchange
	// Received lists the notification posts that arrived during the run,
	// in arrival order.
	Received []Received
	// Checks lists every correlation check, in the order made.
	Checks []Check
	// Actions lists the changes the bot applied to its view of its calls,
	// one per notification entry it acted on, in arrival order: a
	// duplicate or stale entry the sample bot ignored adds none.
	Actions []Action
}

// Exchange is one request the bot made.
type Exchange struct {
	// Offset is when the request was sent, from the start of the run.
	Offset time.Duration
	// Latency is how long the answer took.
	Latency time.Duration
	// Method and URL are the request's.
	Method, URL string
	// RequestBody is the JSON body sent, before any compression; nil for
	// bodiless requests and for the token request, which holds the secret.
	RequestBody []byte
	// Try is 1 for the first attempt at a request, 2 for its first
	// retry (after a 429, 503, 504 or reset), and so on.
	Try int
	// Status is the answer's status, 0 on transport failure.
	Status int
	// Header holds the answer's headers.
	Header http.Header
	// Body is the answer's body, decompressed.
	Body []byte
}

// Received is one notification post that reached the bot.
type Received struct {
	// Offset is when it arrived, from the start of the run.
	Offset time.Duration
	// Path is the request path it was posted to (e.g. /api/calls).
	Path string
	// Header holds its request headers.
	Header http.Header
	// Body is the body as received (possibly invalid JSON, as Graph sends).
	Body []byte
	// Status is what the bot answered.
	Status int
	// Notifications are the entries of the body's value array.
	Notifications []Notification
	// Summary describes the entries in one line, e.g.
	// "updated /app/calls/…/participants (3 participants)".
	Summary string
}

// Notification is the gist of one commsNotification.
type Notification struct {
	// ChangeType is "created", "updated" or "deleted".
	ChangeType string
	// Resource and ResourceURL are as sent ("" when absent).
	Resource, ResourceURL string
	// ODataType is the resourceData's @odata.type ("" for a roster array).
	ODataType string
	// State is a call's state, Status an operation's status ("" when absent).
	State, Status string
	// ClientContext is an operation's clientContext.
	ClientContext string
	// Participants counts the entries of a roster update.
	Participants int
	// Ignored is "duplicate" or "stale" when the bot did not act on the
	// entry, "" when it did.
	Ignored string
}

// String is a one-line description of n.
func (n Notification) String() string {
	s := n.ChangeType + " " + n.Resource
	switch {
	case n.State != "":
		s += " state=" + n.State
	case n.Status != "":
		s += " status=" + n.Status
	case n.Participants > 0:
		s += fmt.Sprintf(" (%d participants)", n.Participants)
	}
	return s
}

// Check is one correlation or status check.
type Check struct {
	// Name says what was checked, e.g. "invite: clientContext echoed".
	Name string
	// OK is true when the check passed.
	OK bool
	// Detail says what was seen.
	Detail string
}

// Err returns nil when every check passed, else an error naming each
// failed check.
func (r *Result) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if !c.OK {
			errs = append(errs, fmt.Errorf("%s: %s", c.Name, c.Detail))
		}
	}
	if len(r.Checks) == 0 {
		errs = append(errs, errors.New("no checks were made"))
	}
	return errors.Join(errs...)
}

// idShape matches the identifiers Shapes hides: GUIDs dashed or not and
// phone numbers.
var idShape = regexp.MustCompile(`(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|\+\d{7,15}`)

// Shapes returns one line per received notification entry with every id
// replaced by {id}, e.g. "deleted /app/calls/{id}/operations/{id}
// status=completed": equal for two runs of a scenario that saw the same
// traffic, whatever the ids (a replay compared with its recording).
func (r *Result) Shapes() []string {
	var out []string
	for _, rc := range r.Received {
		for _, n := range rc.Notifications {
			out = append(out, idShape.ReplaceAllString(n.String(), "{id}"))
		}
	}
	return out
}

// check appends a check.
func (r *Result) check(name string, ok bool, detail string, args ...any) bool {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(detail, args...)})
	return ok
}

// summary describes a notification body in one line.
func summary(ns []Notification) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, "; ")
}
