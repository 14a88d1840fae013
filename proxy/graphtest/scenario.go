package graphtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// Scenario names a sequence of Graph requests the Bot makes and the
// notifications it then expects.
type Scenario string

// The scenarios. Each creates a group call and waits until it is
// established before inviting.
const (
	// SingleInvite invites one user (dashed lower-case id).
	SingleInvite Scenario = "single-invite"
	// MultipleInvite invites three users in one request, one of them with
	// an upper-case id.
	MultipleInvite Scenario = "multiple-invite"
	// ReplaceCall invites one user with replacesCallId naming a
	// peer-to-peer call, which Graph then terminates and deletes.
	ReplaceCall Scenario = "replace-call"
	// PSTNInvite invites a phone number.
	PSTNInvite Scenario = "pstn-invite"
	// FailedInvite invites FailPhone; the operation fails and the bot reads
	// the failure's status by following Location.
	FailedInvite Scenario = "failed-invite"
	// LegacyAppCalls invites through the deprecated
	// POST /beta/app/calls/{ID}/participants/invite with the call id as 32
	// upper-case hex digits.
	LegacyAppCalls Scenario = "legacy-app-calls"
	// FullCall invites one user, polls the operation at Location until it
	// completed, reads the roster and the call, and hangs up.
	FullCall Scenario = "full-call"
)

// Scenarios returns every scenario, in a stable order.
func Scenarios() []Scenario {
	return []Scenario{SingleInvite, MultipleInvite, ReplaceCall, PSTNInvite, FailedInvite, LegacyAppCalls, FullCall}
}

// IDs are the identifiers a bot presents in one scenario, all derived from
// BotOptions.Seed and the scenario's name.
type IDs struct {
	// ClientContext is the invite's clientContext (32 upper-case hex digits
	// for LegacyAppCalls, a dashed GUID otherwise).
	ClientContext string
	// Target is the user the created call targets.
	Target string
	// Users are the invitees of MultipleInvite; Users[0] is the invitee of
	// the single-user scenarios. Users[1] is in upper case.
	Users []string
	// Phone is PSTNInvite's invitee.
	Phone string
	// ReplacedCallID is the peer-to-peer call ReplaceCall replaces.
	ReplacedCallID string
}

// idsFor derives the ids; rs.ids continues the same source for the
// client-request-id headers.
func (b *Bot) idsFor(s Scenario) (IDs, *idSource) {
	h := fnv.New64a()
	h.Write([]byte(s))
	src := newIDSource(b.opts.Seed, h.Sum64())
	ids := IDs{
		ClientContext:  src.guid(),
		Target:         src.guid(),
		Users:          []string{src.guid(), strings.ToUpper(src.guid()), src.guid()},
		Phone:          "+1425" + src.digits(7),
		ReplacedCallID: src.guid(),
	}
	if s == LegacyAppCalls {
		ids.ClientContext = undashedUpper(ids.ClientContext)
	}
	return ids, src
}

// IDs returns the identifiers the bot uses in scenario s.
func (b *Bot) IDs(s Scenario) IDs {
	ids, _ := b.idsFor(s)
	return ids
}

// ExpectedShapes returns the Result.Shapes of a correct run of s against
// Graph (or a faithful replay of one).
func (b *Bot) ExpectedShapes(s Scenario) []string {
	call := []string{
		"updated /app/calls/{id} state=establishing",
		"updated /app/calls/{id} state=established",
	}
	done := "deleted /app/calls/{id}/operations/{id} status=completed"
	roster := func(n int) string { return fmt.Sprintf("updated /app/calls/{id}/participants (%d participants)", n) }
	switch s {
	case MultipleInvite:
		return append(call, done, roster(4))
	case ReplaceCall:
		return append(call, done, roster(2), "updated /app/calls/{id} state=terminated", "deleted /app/calls/{id}")
	case FailedInvite:
		return append(call, "deleted /app/calls/{id}/operations/{id} status=failed")
	case FullCall:
		return append(call, done, roster(2), "updated /app/calls/{id} state=terminated", "deleted /app/calls/{id}")
	}
	return append(call, done, roster(2))
}

// errStopped reports a scenario that could not go on; the failed check
// says why.
var errStopped = errors.New("scenario stopped")

// runState is one Run.
type runState struct {
	bot   *Bot
	res   *Result
	ids   *idSource
	id    IDs
	start time.Time
	from  int             // first inbox entry of this run
	used  map[[2]int]bool // inbox entry and value index already correlated
	// myParticipantID is the bot's participant in the call it invites into.
	myParticipantID string
}

// Run plays scenario s against GraphURL: it creates the call(s), invites,
// waits for every expected notification (each wait bounded by ctx and
// WaitTimeout) and checks that ids, clientContext, statuses and order
// correlate. The error is non-nil when the scenario could not be played to
// its end (transport failure, timeout, an unexpected status); the Result
// is returned in every case and its Err says whether every check passed.
func (b *Bot) Run(ctx context.Context, s Scenario) (*Result, error) {
	if !slices.Contains(Scenarios(), s) {
		return nil, fmt.Errorf("run scenario: unknown scenario %q", s)
	}
	if b.opts.GraphURL == "" || b.opts.TokenURL == "" || b.opts.ClientID == "" {
		return nil, errors.New("run scenario: GraphURL, TokenURL and ClientID are required")
	}
	ids, src := b.idsFor(s)
	b.mu.Lock()
	from := len(b.inbox)
	// The bot's memory of notifications starts afresh with each run, so that
	// one bot may replay the same cassette twice: the same recorded call id
	// and bodies come back, and are news to this run.
	b.seen, b.views, b.actionsFrom = make(map[[32]byte]bool), make(map[string]*callView), from
	b.mu.Unlock()
	rs := &runState{bot: b, res: &Result{Scenario: s}, ids: src, id: ids, start: time.Now(), from: from, used: make(map[[2]int]bool)}
	err := rs.play(ctx, s)
	rs.finish(err == nil)
	if err != nil {
		return rs.res, fmt.Errorf("run %s: %w", s, err)
	}
	return rs.res, nil
}

// play dispatches the scenario.
func (rs *runState) play(ctx context.Context, s Scenario) error {
	version := "v1.0"
	if s == LegacyAppCalls {
		version = "beta"
	}
	callID, err := rs.createCall(ctx, version)
	if err != nil {
		return err
	}
	rs.res.CallID = callID
	base := rs.bot.opts.GraphURL + "/" + version + "/communications/calls/" + callID
	user := func(i int) any { return rs.userInvitee(rs.id.Users[i], "") }
	inv := invitePlan{callRef: callID, url: base + "/participants/invite", clientContext: rs.id.ClientContext}
	switch s {
	case SingleInvite, FullCall:
		inv.participants, inv.want = []any{user(0)}, []string{rs.id.Users[0]}
	case MultipleInvite:
		inv.participants, inv.want = []any{user(0), user(1), user(2)}, rs.id.Users
	case ReplaceCall:
		inv.participants, inv.want = []any{rs.userInvitee(rs.id.Users[0], rs.id.ReplacedCallID)}, []string{rs.id.Users[0]}
	case PSTNInvite:
		inv.participants, inv.want = []any{phoneInvitee(rs.id.Phone)}, []string{rs.id.Phone}
	case FailedInvite:
		inv.participants, inv.fail = []any{phoneInvitee(FailPhone)}, true
	case LegacyAppCalls:
		inv.legacy = true
		inv.callRef = undashedUpper(callID)
		inv.url = rs.bot.opts.GraphURL + "/beta/app/calls/" + inv.callRef + "/participants/invite"
		inv.participants = []any{obj{
			{"endpointType", "default"},
			{"identity", obj{{"user", obj{{"id", rs.id.Users[0]}, {"tenantId", rs.tenantID()}, {"displayName", "Test User"}}}}},
			{"languageId", "en-US"},
			{"region", "westus"},
		}}
		inv.want = []string{rs.id.Users[0]}
	}
	opID, location, err := rs.invite(ctx, inv)
	if err != nil {
		return err
	}
	rs.res.OperationID = opID

	if s == FullCall {
		// Poll the operation where Location says, before and after its end
		// is notified: two GETs whatever the timing, so that the request
		// sequence (and the simulator's ids) stay deterministic.
		if _, err := rs.getOperation(ctx, location, "running", "completed"); err != nil {
			return err
		}
	}
	if inv.fail {
		if _, err := rs.waitOperation(ctx, inv, "failed"); err != nil {
			return err
		}
		_, err := rs.getOperation(ctx, location, "failed")
		return err
	}
	done, err := rs.waitOperation(ctx, inv, "completed")
	if err != nil {
		return err
	}
	roster, err := rs.waitRoster(ctx, inv)
	if err != nil {
		return err
	}
	rs.order("operation completed before roster update", done, roster)
	if s == ReplaceCall {
		if err := rs.waitEnded(ctx, rs.id.ReplacedCallID, "replaced call terminated, then deleted, after the roster update", roster); err != nil {
			return err
		}
	}
	if s == FullCall {
		return rs.hangUp(ctx, base, location, inv)
	}
	return nil
}
