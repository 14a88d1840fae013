package redact

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchBodies is a realistic mix of the bodies a recording session sees,
// 2-20 KB each: invite requests and responses carrying several
// participants, the "established" notification of a meeting call (thread
// id, join URL, base64 replacesContext, meeting token), roster updates of
// 6 and 20 participants (users, guests, phones, the bot; most strings are
// enum values and OData types, not ids), and the invalid-JSON failure
// notification from the docs (the byte-level path). Generated bodies are
// compact, as Graph sends them; fixtures keep their indentation.
func benchBodies(b testing.TB) [][]byte {
	b.Helper()
	g := &rosterGen{rng: rand.New(rand.NewPCG(1, 2))}
	call := g.guid()
	var bodies [][]byte
	add := func(v any) {
		body, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	add(g.inviteRequest(5))
	add(g.inviteResponse(6))
	bodies = append(bodies, readFixture(b, filepath.Join("testdata", "realistic", "notification_established.http")).body)
	add(g.rosterNotification(call, 6))
	add(g.rosterNotification(call, 20))
	bodies = append(bodies, readFixture(b, filepath.Join("testdata", "seeds", "000_15.json")).body)
	for _, body := range bodies {
		if len(body) < 900 || len(body) > 20<<10 {
			b.Fatalf("bench body of %d bytes: outside the realistic range", len(body))
		}
	}
	return bodies
}

// rosterGen makes deterministic, distinct participants.
type rosterGen struct {
	rng *rand.Rand
	n   int
}

const benchTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func (g *rosterGen) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var benchFirst = []string{"Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep"}
var benchLast = []string{"Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lorenz", "Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta"}

func (g *rosterGen) name() string {
	g.n++
	return benchFirst[g.n%len(benchFirst)] + " " + benchLast[(g.n/len(benchFirst)+g.n*7)%len(benchLast)]
}

// identity returns an identitySet: mostly tenant users, some guests and
// phone numbers, as in a real meeting roster.
func (g *rosterGen) identity(k int) map[string]any {
	set := map[string]any{"@odata.type": "#microsoft.graph.identitySet"}
	switch k % 7 {
	case 3:
		set["guest"] = map[string]any{"@odata.type": "#microsoft.graph.identity", "id": g.guid(), "displayName": g.name() + " (Guest)"}
	case 5:
		set["phone"] = map[string]any{"@odata.type": "#microsoft.graph.identity", "id": fmt.Sprintf("+1425555%04d", g.rng.IntN(10000))}
	default:
		set["user"] = map[string]any{"@odata.type": "#microsoft.graph.identity", "id": g.guid(), "displayName": g.name(),
			"tenantId": benchTenant, "identityProvider": "AAD"}
	}
	return set
}

func (g *rosterGen) inviteRequest(n int) map[string]any {
	var ps []any
	for k := range n {
		ps = append(ps, map[string]any{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": g.identity(k),
			"replacesCallId": nil, "hidden": false, "participantId": nil, "removeFromDefaultAudioRoutingGroup": false})
	}
	return map[string]any{"participants": ps, "clientContext": g.guid()}
}

func (g *rosterGen) inviteResponse(n int) map[string]any {
	var ps []any
	for k := range n {
		ps = append(ps, map[string]any{"endpointType": nil, "id": nil, "replacesCallId": nil, "identity": g.identity(k),
			"languageId": nil, "region": nil})
	}
	return map[string]any{"@odata.type": "#microsoft.graph.inviteParticipantsOperation", "id": g.guid(), "status": "running",
		"clientContext": g.guid(), "resultInfo": nil, "participants": ps}
}

func (g *rosterGen) rosterNotification(call string, n int) map[string]any {
	var ps []any
	for k := range n {
		streams := []any{
			map[string]any{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "label": "main-audio",
				"sourceId": fmt.Sprint(2*k + 1), "direction": "sendReceive", "serverMuted": false},
			map[string]any{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "video", "label": "main-video",
				"sourceId": fmt.Sprint(2*k + 2), "direction": "receiveOnly", "serverMuted": false},
		}
		ps = append(ps, map[string]any{
			"@odata.type": "#microsoft.graph.participant", "id": g.guid(),
			"info": map[string]any{"@odata.type": "#microsoft.graph.participantInfo", "identity": g.identity(k),
				"endpointType": "default", "region": "amer", "languageId": "en-US", "countryCode": "US"},
			"mediaStreams": streams, "isMuted": k%3 == 0, "isInLobby": false,
			"recordingInfo":        map[string]any{"@odata.type": "#microsoft.graph.recordingInfo", "initiator": nil, "recordingStatus": "notRecording"},
			"restrictedExperience": nil, "meetingRole": "attendee",
		})
	}
	return map[string]any{"@odata.type": "#microsoft.graph.commsNotifications", "value": []any{map[string]any{
		"@odata.type": "#microsoft.graph.commsNotification", "changeType": "updated",
		"resource": "/app/calls/" + call + "/participants", "resourceUrl": "/communications/calls/" + call + "/participants",
		"resourceData": ps,
	}}}
}

// walkStrings visits every string of a decoded JSON value, object keys
// included, as a redactor built on encoding/json would: keys are data too.
func walkStrings(v any, visit func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = walkStrings(e, visit)
			if nk := visit(k); nk != k {
				delete(x, k)
				k = nk
			}
			x[k] = e
		}
	case []any:
		for i, e := range x {
			x[i] = walkStrings(e, visit)
		}
	case string:
		return visit(x)
	}
	return v
}

// BenchmarkBody measures Body on the mix (MB/s via SetBytes) and, in the
// same run, an encoding/json unmarshal-walk-marshal baseline of the same
// bodies that does no detection at all; the redact sub-benchmark reports
// "x-vs-encoding/json", how many times faster Body is than the baseline
// measured just before it.
func BenchmarkBody(b *testing.B) {
	bodies := benchBodies(b)
	total := 0
	for _, body := range bodies {
		total += len(body)
	}
	var baseNs float64
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(total))
		b.ReportAllocs()
		touched := 0
		visit := func(s string) string {
			touched += len(s)
			return s
		}
		for b.Loop() {
			for _, body := range bodies {
				var v any
				if json.Unmarshal(body, &v) != nil {
					continue // encoding/json cannot redact invalid JSON at all
				}
				v = walkStrings(v, visit)
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		}
		if touched == 0 {
			b.Fatal("the baseline visited no string")
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("redact", func(b *testing.B) {
		r := New(nil)
		for _, body := range bodies {
			r.Body("application/json", body) // steady state of a session: ids already mapped
		}
		b.SetBytes(int64(total))
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				r.Body("application/json", body)
			}
		}
		if ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N); baseNs > 0 && ours > 0 {
			b.ReportMetric(baseNs/ours, "x-vs-encoding/json")
		}
	})
}

// BenchmarkFindIDs measures FindIDs, which the replayer runs on every
// request's strings and every answer it renders, over the same mix (MB/s).
func BenchmarkFindIDs(b *testing.B) {
	bodies := benchBodies(b)
	total := 0
	strs := make([]string, len(bodies))
	for i, body := range bodies {
		total += len(body)
		strs[i] = string(body)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	found := 0
	for b.Loop() {
		for _, s := range strs {
			found += len(FindIDs(s))
		}
	}
	if found == 0 {
		b.Fatal("FindIDs found nothing in the mix")
	}
}
