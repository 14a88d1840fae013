package timeline

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Classes of change notifications, as ChangeClasses names them (besides
// "<resource> <changeType>", such as "callRecord created").
//
// Classification lives here, not in the proxy's change-notification code,
// because the views (show, diff) may not import proxy; that code calls
// ChangeClass.
const (
	ClassValidation              = "validation"
	ClassReauthorizationRequired = "reauthorizationRequired"
	ClassSubscriptionRemoved     = "subscriptionRemoved"
	ClassMissed                  = "missed"
)

// resourceNames singularises the collections change notifications are
// about.
var resourceNames = map[string]string{
	"callrecords":    "callRecord",
	"presences":      "presence",
	"presence":       "presence",
	"onlinemeetings": "onlineMeeting",
	"transcripts":    "transcript",
	"recordings":     "recording",
	"messages":       "chatMessage",
	"getallmessages": "chatMessage",
	"chats":          "chat",
	"events":         "event",
	"users":          "user",
	"groups":         "group",
}

// ChangeClass names what a notification request is: "validation" for
// Graph's validation request (POST with validationToken), the
// lifecycleEvent of a lifecycle notification ("reauthorizationRequired",
// "subscriptionRemoved", "missed"), else "<resource> <changeType>" such as
// "callRecord created" or "presence updated" (distinct classes of a batch
// joined by ", "). It returns "" for anything else, such as a calling
// bot's commsNotifications.
func ChangeClass(method, rawURL string, body []byte) string {
	return strings.Join(ChangeClasses(method, rawURL, body), ", ")
}

// ChangeClasses is ChangeClass as a list: one entry per distinct class, in
// order; nil when the request is not a change notification.
func ChangeClasses(method, rawURL string, body []byte) []string {
	if isValidationRequest(method, rawURL) {
		return []string{ClassValidation}
	}
	its := gjson.GetBytes(body, "value").Array()
	if len(its) == 0 || !its[0].Get("subscriptionId").Exists() {
		return nil
	}
	var classes []string
	for _, it := range its {
		c := it.Get("lifecycleEvent").String()
		if c == "" {
			c = resourceName(it) + " " + it.Get("changeType").String()
		}
		if !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	return classes
}

// isValidationRequest reports whether a request is a subscription's
// validation request: a POST whose query has validationToken.
func isValidationRequest(method, rawURL string) bool {
	if method != http.MethodPost {
		return false
	}
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has("validationToken")
}

// resourceName names an item's resource: the last collection of its
// resource path (communications/callRecords/{id} is a callRecord), else
// its resourceData's @odata.type.
func resourceName(it gjson.Result) string {
	segs := strings.Split(strings.Trim(it.Get("resource").String(), "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if p := strings.IndexAny(s, "('"); p >= 0 {
			s = s[:p] // users('id') is the users collection
		}
		if name, ok := resourceNames[strings.ToLower(s)]; ok {
			return name
		}
	}
	if t := it.Get("resourceData.@odata\\.type").String(); t != "" {
		return t[strings.LastIndex(t, ".")+1:]
	}
	return "resource"
}
