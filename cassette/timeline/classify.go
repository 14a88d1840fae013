package timeline

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/tidwall/gjson"
)

// summary is what every view shows of one event, without its bodies: the
// exported Head, under the name the views have always used for it.
type summary = Head

// summarize derives the summary of e. It reads the request body of a
// notification (its kinds and call) and the response body of a Graph
// exchange whose URL names no call (a created call's id).
func summarize(e *cassette.Event) summary {
	s := summary{
		Seq:     e.Seq,
		Kind:    e.Kind,
		Offset:  e.Offset,
		Latency: e.Latency,
		Trigger: e.Trigger,
		Method:  e.Request.Method,
		Path:    pathOf(e.Request.URL),
		Status:  e.Response.Status,
		Error:   e.Error,
		// Abandoned is set below: the struct literal keeps gofmt's alignment.
	}
	s.Abandoned = e.Abandoned
	switch e.Kind {
	case cassette.KindNotification:
		// A subscription's change notifications name their classes
		// ("callRecord created", "validation"); commsNotifications theirs.
		if s.Kinds = ChangeClasses(e.Request.Method, e.Request.URL, e.Request.Body); s.Kinds == nil {
			s.Kinds, s.Call = notificationKinds(e.Request.Body)
		}
	case cassette.KindGraph:
		s.Call = callFromPath(s.Path)
		if s.Call == "" && gjson.ValidBytes(e.Response.Body) {
			// POST /communications/calls names its call only in the answer.
			res := gjson.ParseBytes(e.Response.Body)
			if strings.HasSuffix(res.Get(`@odata\.type`).String(), ".call") {
				s.Call = canonicalID(res.Get("id").String())
			}
		}
	}
	return s
}

// pathOf returns the path and query of a recorded URL, or the URL itself
// when it does not parse.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" && u.RawQuery == "" {
		return raw
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// callPath finds the call id in Graph paths and notification resources:
// /communications/calls/{id}/... and the deprecated /app/calls/{id}/...
var callPath = regexp.MustCompile(`(?i)/(?:communications|app)/calls/([^/?#]+)`)

func callFromPath(p string) string {
	m := callPath.FindStringSubmatch(p)
	if m == nil {
		return ""
	}
	return canonicalID(m[1])
}

// canonicalID folds the forms one GUID takes (dashed or not, upper or lower
// case, braced) into dashed lower case, so that "/app/calls/90ED…" and
// "/communications/calls/90ed…-…" group as one call. Other ids stay as they are.
func canonicalID(id string) string {
	h := strings.ToLower(strings.Trim(strings.ReplaceAll(id, "-", ""), "{}"))
	if len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" {
		return id
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NotificationKinds names what each entry of a commsNotifications body
// reports, in order: "call established", "operation completed", "roster
// updated (2 participants)", "call terminated"... It is the classification
// the timelines show; nil when the body holds no notification.
func NotificationKinds(body []byte) []string {
	kinds, _ := notificationKinds(body)
	return kinds
}

// notificationKinds names what each entry of a commsNotifications body
// reports, and returns the call of the first entry that names one. Bodies
// that are not valid JSON (Graph has sent trailing commas) are read as far
// as gjson can.
func notificationKinds(body []byte) (kinds []string, call string) {
	root := gjson.ParseBytes(body)
	values := root.Get("value")
	if !values.IsArray() {
		if !root.IsObject() {
			return nil, ""
		}
		values = gjson.Parse("[" + root.Raw + "]")
	}
	for _, v := range values.Array() {
		resource := v.Get("resource").String()
		if call == "" {
			call = callFromPath(resource)
		}
		if k := notificationKind(v, resource); k != "" {
			kinds = append(kinds, k)
		}
	}
	return kinds, call
}

// operationPath and participantsPath tell an operation's notification and
// a roster update from the resource they are about.
var (
	operationPath    = regexp.MustCompile(`(?i)/calls/[^/]+/operations(?:/|$)`)
	participantsPath = regexp.MustCompile(`(?i)/calls/[^/]+/participants(?:/[^/]*)?$`)
	callOnlyPath     = regexp.MustCompile(`(?i)/calls/[^/]+/?$`)
)

func notificationKind(v gjson.Result, resource string) string {
	change := v.Get("changeType").String()
	data := v.Get("resourceData")
	if data.IsArray() && len(data.Array()) > 0 {
		data = data.Array()[0]
	}
	dataType := data.Get(`@odata\.type`).String()
	typ := dataType
	if i := strings.LastIndexByte(typ, '.'); i >= 0 {
		typ = typ[i+1:]
	}
	switch {
	case operationPath.MatchString(resource) || strings.HasSuffix(strings.ToLower(typ), "operation"):
		status := strings.ToLower(data.Get("status").String())
		if status == "" {
			status = change
		}
		kind := "operation " + status
		if status == "failed" {
			if code := data.Get("resultInfo.code"); code.Exists() {
				kind += fmt.Sprintf(" (%s/%s)", code.String(), data.Get("resultInfo.subCode").String())
			}
		}
		return kind
	case participantsPath.MatchString(resource) || typ == "participant":
		n := len(v.Get("resourceData").Array())
		if n > 1 {
			return fmt.Sprintf("roster %s (%d participants)", change, n)
		}
		return "roster " + change
	case callOnlyPath.MatchString(resource) || typ == "call":
		if change == "deleted" {
			return "call deleted"
		}
		if state := data.Get("state").String(); state != "" {
			if state == "incoming" {
				return "incoming call"
			}
			return "call " + state
		}
		return "call " + change
	}
	switch {
	case change != "" && typ != "":
		return typ + " " + change
	case change != "":
		return change
	}
	return typ
}

// abandonedText is what views show in place of the status of an exchange
// the bot abandoned: "abandoned after 400ms".
func abandonedText(s summary) string {
	return "abandoned after " + formatLatency(s.Abandoned)
}

// upstreamAnswer says what the upstream did with an exchange the bot
// abandoned, which the bot never saw: "Graph answered 201 Created after
// 1.50s", or why no answer is known.
func upstreamAnswer(s summary) string {
	up := "Graph"
	if s.Kind == cassette.KindToken {
		up = "the token endpoint"
	}
	if s.Error != "" {
		return "no answer from " + up + " recorded: " + s.Error
	}
	return fmt.Sprintf("%s answered %s after %s", up, statusText(s.Status), formatLatency(s.Latency))
}

// statusText is "200 OK", or the code alone when HTTP names no reason.
func statusText(code int) string {
	if code == 0 {
		return "no response"
	}
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// formatOffset renders an offset from session start as "+1.204s".
func formatOffset(d time.Duration) string {
	return fmt.Sprintf("+%.3fs", d.Seconds())
}

// formatLatency renders a latency as "412ms", or "1.25s" from a second up.
func formatLatency(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// direction is the arrow a reader follows: bot → Graph for what the bot
// sent (to Graph or the token endpoint), Graph → bot for a notification.
func direction(k cassette.Kind) string {
	if k == cassette.KindNotification {
		return "Graph → bot"
	}
	return "bot → Graph"
}
