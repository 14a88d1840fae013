package graphtest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// The notification bodies follow the documentation's examples: the 2020
// page for /communications calls ("#"-prefixed @odata.type, resource under
// /app/calls plus resourceUrl under /communications/calls), the 2019 page
// for the deprecated /app/calls API (@odata.type without "#" on the
// envelope, @odata.id and @odata.etag, ids as 32 upper-case hex digits).

// commsBody wraps notifications in a commsNotifications envelope.
func commsBody(notes ...obj) []byte {
	return mustJSON(obj{{"@odata.type", "#microsoft.graph.commsNotifications"}, {"value", notes}})
}

// legacyBody is commsBody in the 2019 form.
func legacyBody(notes ...obj) []byte {
	return mustJSON(obj{{"@odata.type", "microsoft.graph.commsNotifications"}, {"value", notes}})
}

// note builds one commsNotification about resource (relative to the call
// root, e.g. "" or "/participants"). Legacy notifications name the call in
// the /app/calls form only.
func note(changeType, callID, sub string, legacy bool, data any) obj {
	if legacy {
		return obj{
			{"@odata.type", "microsoft.graph.commsNotification"},
			{"changeType", changeType},
			{"resource", "/app/calls/" + callID + sub},
			{"resourceData", data},
		}
	}
	return obj{
		{"@odata.type", "#microsoft.graph.commsNotification"},
		{"changeType", changeType},
		{"resource", "/app/calls/" + callID + sub},
		{"resourceUrl", "/communications/calls/" + callID + sub},
		{"resourceData", data},
	}
}

// callStates orders the states a call goes through; the etag follows it.
var callStates = []string{"establishing", "established", "terminated"}

// stateNote reports a call state change (establishing, established, terminated).
func (c *call) stateNote(state string) obj {
	data := obj{
		{"@odata.type", "#microsoft.graph.call"},
		{"@odata.id", "/app/calls/" + c.id},
		{"@odata.etag", fmt.Sprintf("W/\"%d\"", 5440+slices.Index(callStates, state)+1)},
		{"state", state},
	}
	switch state {
	case "terminated":
		data = append(data, field{"terminationReason", "AppInitiated"}, field{"resultInfo", obj{
			{"@odata.type", "#microsoft.graph.resultInfo"}, {"code", 200}, {"subcode", 5001}, {"message", "The conversation has ended."},
		}})
	default:
		data = append(data,
			field{"callChainId", c.chainID},
			field{"chatInfo", obj{{"@odata.type", "#microsoft.graph.chatInfo"}, {"threadId", c.threadID}, {"messageId", "0"}}},
			field{"myParticipantId", c.myParticipantID},
			field{"id", c.id})
	}
	return note("updated", c.id, "", false, data)
}

// deletedNote reports that a call is gone.
func (c *call) deletedNote() obj {
	return replacedDeleted(c.id, false)
}

// replacedTerminated is the "terminated" update of a replaced
// peer-to-peer call, named as the invite named it.
func replacedTerminated(id string, legacy bool) obj {
	return note("updated", id, "", legacy, obj{
		{"@odata.type", "#microsoft.graph.call"},
		{"@odata.id", "/app/calls/" + id},
		{"@odata.etag", `W/"5445"`},
		{"state", "terminated"},
		{"terminationReason", "AppInitiated"},
	})
}

// replacedDeleted is the deletion of a call.
func replacedDeleted(id string, legacy bool) obj {
	return note("deleted", id, "", legacy, obj{
		{"@odata.type", "#microsoft.graph.call"},
		{"@odata.id", "/app/calls/" + id},
		{"@odata.etag", `W/"5445"`},
	})
}

// identityBody renders one identity of an identitySet as Graph echoes it.
func identityBody(kind string, id *identity, tenantID string, withType bool) obj {
	o := obj{}
	if withType {
		o = append(o, field{"@odata.type", "#microsoft.graph.identity"})
	}
	if id.DisplayName != "" && kind != "user" {
		o = append(o, field{"displayName", id.DisplayName})
	}
	o = append(o, field{"id", id.ID})
	if kind == "user" {
		o = append(o, field{"identityProvider", "AAD"})
	}
	if kind == "user" || kind == "application" {
		t := id.TenantID
		if t == "" {
			t = tenantID
		}
		o = append(o, field{"tenantId", t})
	}
	return o
}

// answerParticipant renders an invitee in the invite answer (2020 form,
// every identity kind listed, the absent ones null).
func answerParticipant(inv invitee, tenantID string) obj {
	kind, id := inv.who()
	ident := obj{}
	kinds := []string{"user", "application", "device", "phone"}
	if kind == "phone" {
		kinds = []string{"user", "guest", "encrypted", "onPremises", "applicationInstance", "application", "device", "phone"}
	}
	for _, k := range kinds {
		if k == kind {
			ident = append(ident, field{k, identityBody(kind, id, tenantID, kind == "phone")})
		} else {
			ident = append(ident, field{k, nil})
		}
	}
	var replaces any
	if inv.ReplacesCallID != "" {
		replaces = inv.ReplacesCallID
	}
	return obj{{"endpointType", nil}, {"id", nil}, {"replacesCallId", replaces}, {"identity", ident}}
}

// invitationInfo renders an invitee inside an operation notification.
func invitationInfo(inv invitee, tenantID string) obj {
	kind, id := inv.who()
	return obj{
		{"@odata.type", "#microsoft.graph.invitationParticipantInfo"},
		{"identity", obj{{"@odata.type", "#microsoft.graph.identitySet"}, {kind, identityBody(kind, id, tenantID, true)}}},
	}
}

// participantBody renders a roster member; legacy uses the 2019 form with
// @odata.id under legacyCall and ids in upper case.
func participantBody(m member, legacy bool, legacyCall string) obj {
	kind, id := m.inv.who()
	if legacy {
		ident := obj{}
		if id.DisplayName != "" {
			ident = append(ident, field{"displayName", id.DisplayName})
		}
		ident = append(ident, field{"id", strings.ToUpper(dashedIfGUID(id.ID))})
		return obj{
			{"@odata.type", "#microsoft.graph.participant"},
			{"@odata.id", "/app/calls/" + legacyCall + "/participants/" + undashedUpper(m.id)},
			{"@odata.etag", `W/"51"`},
			{"info", obj{
				{"identity", obj{{kind, ident}}},
				{"region", "westus"},
				{"languageId", "en-US"},
			}},
			{"mediaStreams", []obj{{
				{"mediaType", "audio"}, {"label", "main-audio"}, {"sourceId", m.sourceID}, {"direction", "sendReceive"}, {"serverMuted", false},
			}}},
		}
	}
	return obj{
		{"@odata.type", "#microsoft.graph.participant"},
		{"info", obj{
			{"@odata.type", "#microsoft.graph.participantInfo"},
			{"identity", obj{{"@odata.type", "#microsoft.graph.identitySet"}, {kind, identityBody(kind, id, "", true)}}},
			{"endpointType", "default"},
		}},
		{"mediaStreams", []obj{{
			{"@odata.type", "#microsoft.graph.mediaStream"}, {"mediaType", "audio"}, {"sourceId", m.sourceID}, {"direction", "sendReceive"}, {"serverMuted", false},
		}}},
		{"isMuted", false},
		{"isInLobby", false},
		{"id", m.id},
	}
}

// dashedIfGUID renders a GUID dashed and leaves anything else alone.
func dashedIfGUID(s string) string {
	if len(canonicalID(s)) == 32 {
		return dashed(s)
	}
	return s
}

// failedPlaceholder marks where the invalid resourceData of a failure goes.
const failedPlaceholder = "\u0000graphtest-failed\u0000"

// failedBody is the failure notification of the documentation, trailing
// comma after resultInfo included: Graph has been seen sending such bodies,
// and bots must cope. It cannot be built with encoding/json.
func failedBody(callID, opID, clientContext, message string, legacy bool) []byte {
	opPath := "/operations/" + opID
	data := mustJSON(obj{
		{"@odata.type", "#microsoft.graph.inviteParticipantsOperation"},
		{"@odata.id", "/app/calls/" + callID + opPath},
		{"@odata.etag", `W/"51"`},
		{"clientContext", clientContext},
		{"status", "failed"},
		{"resultInfo", obj{
			{"@odata.type", "#microsoft.graph.resultInfo"},
			{"code", 500},
			{"subCode", 0},
			{"message", message},
		}},
	})
	// data ends with "}}": close resultInfo, then a comma, then resourceData.
	invalid := append(append([]byte{}, data[:len(data)-1]...), ",}"...)
	n := note("deleted", callID, opPath, legacy, failedPlaceholder)
	var body []byte
	if legacy {
		body = legacyBody(n)
	} else {
		body = commsBody(n)
	}
	quoted := mustJSON(failedPlaceholder)
	return bytes.Replace(body, quoted, invalid, 1)
}
