package changes

import (
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Classes of change notifications, as Classify names them (besides
// "<resource> <changeType>", such as "callRecord created").
const (
	ClassValidation              = "validation"
	ClassReauthorizationRequired = "reauthorizationRequired"
	ClassSubscriptionRemoved     = "subscriptionRemoved"
	ClassMissed                  = "missed"
)

// resourceNames singularises the collections change notifications are
// about, for Classify.
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

// Classify names what a notification request is, for show and diff:
// "validation" for Graph's validation request (POST with validationToken),
// the lifecycleEvent of a lifecycle notification ("reauthorizationRequired",
// "subscriptionRemoved", "missed"), else "<resource> <changeType>" such as
// "callRecord created" or "presence updated" (distinct classes of a batch
// joined by ", "). It returns "" for anything else, such as a calling
// bot's commsNotifications, so a caller can fall back to its own classes.
func Classify(method, rawURL string, body []byte) string {
	if _, ok := ValidationToken(method, rawURL); ok {
		return ClassValidation
	}
	if !IsChangeNotification(body) {
		return ""
	}
	var classes []string
	for _, it := range items(body) {
		c := it.Get("lifecycleEvent").String()
		if c == "" {
			c = resourceName(it) + " " + it.Get("changeType").String()
		}
		if !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	return strings.Join(classes, ", ")
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
	t := it.Get("resourceData.@odata\\.type").String()
	if t != "" {
		t = t[strings.LastIndex(t, ".")+1:]
		return t
	}
	return "resource"
}
