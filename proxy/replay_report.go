package proxy

import (
	"time"

	"github.com/graphvcr/graphvcr/proxy/fault"
)

// Report is what a replay has done so far: the requests it answered from the
// cassette and those it could not, and the notifications it delivered and
// those still pending. GET /__graphvcr/report serves it as JSON. Lists are
// in recorded order (Seq), so two replays of one cassette against the same
// bot give equal reports but for the timing fields.
type Report struct {
	// Cassette is the path of the cassette replayed.
	Cassette string `json:"cassette"`
	// Speed is the replay speed (1 = recorded timing, 0 = no delays).
	Speed float64 `json:"speed"`
	// Strict is ReplayConfig.Strict: any divergence fails the replay.
	Strict bool `json:"strict"`
	// Done is true once every recorded exchange was matched at least once and
	// every notification delivered.
	Done bool `json:"done"`
	// Matched lists each recorded exchange the first time a request matched it.
	Matched []Match `json:"matched"`
	// ServedAgain lists recorded exchanges answered again after every
	// recorded repetition of the request was used up (a polling bot).
	ServedAgain []ServedAgain `json:"served_again"`
	// Unmatched lists the requests that matched no recorded exchange.
	Unmatched []Unmatched `json:"unmatched"`
	// Unused lists the recorded exchanges no request has matched yet.
	Unused []Unused `json:"unused"`
	// Abandoned lists the requests held without an answer because they
	// matched an exchange the bot abandoned when recording, once each hold
	// has ended.
	Abandoned []Abandonment `json:"abandoned"`
	// Notifications lists the notifications delivered (or given up on).
	Notifications []Delivery `json:"notifications"`
	// Pending lists the notifications not delivered yet (a dropped one is
	// not pending: nothing is left to deliver).
	Pending []Pending `json:"pending"`
	// Validations lists the subscription validation handshakes graphvcr
	// did with the bot (replay_changes.go).
	Validations []Validation `json:"validations"`
	// Faults lists the faults injected (ReplayConfig.Faults), in the order
	// applied. A fault is never a divergence itself: what the bot does
	// after it (an unmatched request, a notification refused) is.
	Faults []fault.Record `json:"faults"`
}

// Match is a recorded exchange and the live request that first matched it.
type Match struct {
	Seq uint64 `json:"seq"`
	// Method and Path (with query) are the live request's.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is the recorded status served; 0 when the recorded transport
	// error, or the bot abandoning the exchange, was reproduced by closing
	// the connection.
	Status int `json:"status"`
	// Abandoned is true when the bot abandoned this exchange when recording:
	// the request was held without an answer (see Report.Abandoned).
	Abandoned bool `json:"abandoned,omitempty"`
	// At is when the request arrived, from replay start.
	At time.Duration `json:"at_ns"`
}

// ServedAgain counts the extra answers of one recorded exchange.
type ServedAgain struct {
	Seq    uint64 `json:"seq"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Count  int    `json:"count"`
}

// Unmatched is a live request that matched no recorded exchange.
type Unmatched struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Count is how many times this request arrived.
	Count int `json:"count"`
	// Nearest lists the closest recorded exchanges and how they differ.
	Nearest []NearMiss `json:"nearest"`
}

// NearMiss is a recorded exchange close to an unmatched request.
type NearMiss struct {
	Seq uint64 `json:"seq"`
	// Method and Path are as recorded (redacted).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Differences says how the live request differs, one item per
	// difference ("method GET, recorded POST", "body field participants.0.id missing").
	Differences []string `json:"differences"`
}

// Abandonment is a live request that matched an exchange the bot abandoned
// when recording: graphvcr held it without an answer, then closed the
// connection.
type Abandonment struct {
	Seq uint64 `json:"seq"`
	// Method and Path (with query) are the live request's.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Recorded is when the bot gave up when recording, from its request's
	// arrival; Held how long the live request was held.
	Recorded time.Duration `json:"recorded_ns"`
	Held     time.Duration `json:"held_ns"`
	// Reproduced is true when the live bot gave up by itself, as it did
	// when recording. False when graphvcr stopped holding first: the bot
	// waited longer than recorded (scaled by the speed) by more than a
	// margin of a second, a divergence.
	Reproduced bool `json:"reproduced"`
	// Closed is true when the replay was closed while the request was held:
	// neither reproduced nor a divergence.
	Closed bool `json:"closed,omitempty"`
}

// Unused is a recorded exchange not matched yet.
type Unused struct {
	Seq    uint64 `json:"seq"`
	Method string `json:"method"`
	Path   string `json:"path"`
}

// Delivery is a notification delivered to the bot.
type Delivery struct {
	Seq uint64 `json:"seq"`
	// Path is where it was posted under the bot's base URL.
	Path string `json:"path"`
	// Trigger is the seq of the exchange it followed (0 = replay start).
	Trigger uint64 `json:"trigger"`
	// RecordedGap is the recorded time from the trigger's answer to the
	// notification; ActualGap the live one (it is RecordedGap/Speed when
	// on time).
	RecordedGap time.Duration `json:"recorded_gap_ns"`
	ActualGap   time.Duration `json:"actual_gap_ns"`
	// RecordedStatus is what the bot answered when recording; Status what it
	// answered now (0 when it could not be reached).
	RecordedStatus int `json:"recorded_status"`
	Status         int `json:"status"`
	// Latency is how long the bot took to answer.
	Latency time.Duration `json:"latency_ns"`
	// Attempts counts the tries (more than 1 when the bot was unreachable).
	Attempts int `json:"attempts"`
	// Error says why the notification could not be delivered; empty on success.
	Error string `json:"error,omitempty"`
	// Copy is set on the second delivery of a duplicate fault.
	Copy bool `json:"copy,omitempty"`
}

// Pending is a notification not delivered yet.
type Pending struct {
	Seq     uint64 `json:"seq"`
	Path    string `json:"path"`
	Trigger uint64 `json:"trigger"`
	// Armed is true once its trigger was answered: it is waiting for its time
	// or for an earlier notification.
	Armed bool `json:"armed"`
}

// Diverged reports whether the live session left the recording: a request
// matched nothing, a held abandoned exchange diverged (Abandonment.Diverged),
// or a delivery did (Delivery.Diverged). Serving an exchange again is not a
// divergence: a polling bot needs it. Whoever summarises a divergence (the
// CLI, replaytest) counts with the same per-item methods, so the rule lives
// here alone.
func (r Report) Diverged() bool {
	if len(r.Unmatched) > 0 {
		return true
	}
	for _, a := range r.Abandoned {
		if a.Diverged() {
			return true
		}
	}
	for _, d := range r.Notifications {
		if d.Diverged() {
			return true
		}
	}
	for _, v := range r.Validations {
		if v.Diverged() {
			return true
		}
	}
	return false
}

// Diverged reports whether this delivery left the recording: the
// notification could not be delivered, or the bot answered it with another
// class of status (2xx or not) than recorded. A recorded status of 0 (the
// bot gave no answer when recording) is no reference: any answer now fits.
func (d Delivery) Diverged() bool {
	return d.Error != "" || (d.RecordedStatus != 0 && d.RecordedStatus/100 != d.Status/100)
}

// Diverged reports whether this hold left the recording: graphvcr stopped
// holding before the bot gave up, so the bot waited longer than recorded.
// A hold ended by closing the replay is neither.
func (a Abandonment) Diverged() bool { return !a.Reproduced && !a.Closed }

// Failed reports whether the replay fails: it diverged and Strict is set.
// graphvcr replay --strict exits with status 1 when it does.
func (r Report) Failed() bool { return r.Strict && r.Diverged() }
