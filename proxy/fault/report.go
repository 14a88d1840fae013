package fault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Record is one fault as the replay report lists it, in the order applied.
type Record struct {
	// Seq is the recorded event the fault applied to.
	Seq uint64 `json:"seq"`
	// Action is what was done ("duplicate").
	Action Action `json:"action"`
	// Detail says it in words: "delivered 312ms late".
	Detail string `json:"detail"`
	// At is when it was applied, from replay start.
	At time.Duration `json:"at_ns"`
	// Occurrence is, for a request fault, which time the bot sent the
	// request (1 for the first); zero for a notification.
	Occurrence int `json:"occurrence,omitempty"`
	// BotStatus is, for a notification fault that delivered something, the
	// status the bot answered (the last copy's for a duplicate); zero when
	// nothing was delivered or the bot gave no answer.
	BotStatus int `json:"bot_status,omitempty"`
	// Spec is the spec that chose the fault, as given.
	Spec string `json:"spec"`
}

// Record describes f, applied to notification seq at offset at; the caller
// fills BotStatus once the bot has answered.
func (f NotificationFault) Record(seq uint64, at time.Duration) Record {
	return Record{Seq: seq, Action: f.Action, Detail: f.Detail(), At: at, Spec: f.Spec}
}

// Detail says what f does in a few words, for the report.
func (f NotificationFault) Detail() string {
	switch f.Action {
	case Drop:
		return "not delivered"
	case Duplicate:
		return fmt.Sprintf("delivered twice, the copy %s after the bot answered the first", f.By)
	case Delay:
		return fmt.Sprintf("delivered %s late", f.By)
	case Reorder:
		if f.Wait {
			return fmt.Sprintf("held and delivered right after #%d, which was recorded after it", f.Partner)
		}
		return fmt.Sprintf("delivered before #%d, which was recorded before it", f.Partner)
	}
	return "delivered as recorded"
}

// Record describes f, applied to the occurrence-th time the bot sent
// recorded exchange seq, at offset at.
func (f RequestFault) Record(seq uint64, occurrence int, at time.Duration) Record {
	return Record{Seq: seq, Action: f.Action, Detail: f.Detail(), At: at, Occurrence: occurrence, Spec: f.Spec}
}

// Detail says what f does in a few words, for the report.
func (f RequestFault) Detail() string {
	switch f.Action {
	case Status:
		d := fmt.Sprintf("answered %d %s instead of the recorded answer", f.Code, errorCode(f.Code))
		if f.RetryAfter >= 0 {
			d += ", Retry-After: " + f.RetryAfterValue()
		}
		return d
	case Reset:
		return "connection closed without an answer"
	case Latency:
		return fmt.Sprintf("answered %s later than recorded", f.By)
	}
	return "answered as recorded"
}

// RetryAfterValue is the Retry-After header of a Status fault, in whole
// seconds as Graph sends it; "" when the fault sends none.
func (f RequestFault) RetryAfterValue() string {
	if f.Action != Status || f.RetryAfter < 0 {
		return ""
	}
	return strconv.FormatInt(int64(f.RetryAfter/time.Second), 10)
}

// Header returns the headers of a Status fault's answer: a JSON content
// type, Graph's request-id, and Retry-After when the spec gave one.
func (f RequestFault) Header() http.Header {
	h := http.Header{
		"Content-Type": {"application/json"},
		"Request-Id":   {f.RequestID()},
	}
	if v := f.RetryAfterValue(); v != "" {
		h.Set("Retry-After", v)
	}
	return h
}

// RequestID is the request-id a Status fault's answer carries, a GUID
// drawn from the decision itself: the same seed gives the same ids.
func (f RequestFault) RequestID() string {
	a, b := f.key, mix64(f.key^saltID)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// Body returns a Status fault's answer body at time now, shaped as Graph
// shapes its errors:
//
//	{"error":{"code":"serviceNotAvailable","message":"…","innerError":{"request-id":"…","date":"2026-01-02T15:04:05"}}}
func (f RequestFault) Body(now time.Time) []byte {
	return ErrorBody(f.Code, f.RequestID(), now)
}

// graphError is the JSON Graph sends with an error status.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// ErrorBody returns a Graph-shaped error body for status: the error code
// Graph uses for it, a message, and innerError with requestID and now (UTC,
// to the second, without a zone, as Graph writes it).
func ErrorBody(status int, requestID string, now time.Time) []byte {
	var e graphError
	e.Error.Code = errorCode(status)
	e.Error.Message = errorMessage(status)
	e.Error.InnerError.RequestID = requestID
	e.Error.InnerError.Date = now.UTC().Format("2006-01-02T15:04:05")
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

// graphErrors holds, per status, the code Graph's error documentation gives
// (the "code" of its error resource) and, for the statuses a client is told
// to retry, a message in the style of Graph's: one row per status keeps a
// status's code and message side by side.
var graphErrors = map[int]struct{ code, message string }{
	http.StatusBadRequest:         {code: "invalidRequest"},
	http.StatusUnauthorized:       {code: "unauthenticated"},
	http.StatusForbidden:          {code: "accessDenied"},
	http.StatusNotFound:           {code: "itemNotFound"},
	http.StatusPreconditionFailed: {code: "resourceModified"},
	http.StatusTooManyRequests:    {"activityLimitReached", "The request has been throttled. Retry after the number of seconds in Retry-After."},
	http.StatusNotImplemented:     {code: "notSupported"},
	http.StatusServiceUnavailable: {"serviceNotAvailable", "The service is temporarily unavailable. Retry the request after a delay."},
	http.StatusGatewayTimeout:     {"gatewayTimeout", "The service did not answer in time. Retry the request after a delay."},
}

// errorCode is the code Graph's error documentation gives for a status;
// generalException when none fits.
func errorCode(status int) string {
	if e, ok := graphErrors[status]; ok {
		return e.code
	}
	return "generalException"
}

// errorMessage is a message in the style of Graph's for status: the
// table's, else HTTP's reason phrase.
func errorMessage(status int) string {
	if m := graphErrors[status].message; m != "" {
		return m
	}
	if t := http.StatusText(status); t != "" {
		return t + "."
	}
	return fmt.Sprintf("Error %d.", status)
}

// RandomSeed draws a seed for a replay given no --seed: positive and short
// enough to retype from a CI log.
func RandomSeed() int64 {
	return 1 + rand.Int64N(1<<31-1)
}

// SeedLine is the line replay prints at start so that a failed run can be
// repeated: "faults: seed 1234567 — rerun with --seed 1234567".
func SeedLine(seed int64) string {
	return fmt.Sprintf("faults: seed %d — rerun with --seed %d", seed, seed)
}
