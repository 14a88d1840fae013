package timeline

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/internal/term"
)

// Mermaid writes r's timeline as a Mermaid sequence diagram between the
// participants bot, graphvcr and Graph: the raw diagram text, which GitHub
// renders when it is pasted into an issue inside a ```mermaid fence. Each
// exchange is a request relayed through graphvcr and its answer; a note
// gives its offset from session start and, for a notification, what it
// reports and what triggered it. Recorded text is escaped so that no
// character in it can end a message or change the diagram.
func Mermaid(w io.Writer, r *cassette.Reader) error {
	sums, err := collect(r)
	if err != nil {
		return fmt.Errorf("mermaid timeline: %w", err)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "sequenceDiagram")
	fmt.Fprintln(bw, "    participant bot")
	fmt.Fprintln(bw, "    participant graphvcr")
	fmt.Fprintln(bw, "    participant Graph")
	fmt.Fprintf(bw, "    Note over bot,Graph: %s\n", mermaidText(headline(r.Meta(), sums)))
	for _, s := range sums {
		writeMermaidEvent(bw, s)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("mermaid timeline: write: %w", err)
	}
	return nil
}

func writeMermaidEvent(w io.Writer, s summary) {
	line := func(format string, args ...any) { fmt.Fprintf(w, "    "+format+"\n", args...) }
	req := mermaidText(s.Method + " " + s.Path)
	answer := statusText(s.Status) + ", " + formatLatency(s.Latency)
	// exchange draws the request from one side through graphvcr to the
	// other, and the answer (or the transport error) back.
	exchange := func(from, to string) {
		line("%s->>graphvcr: %s", from, req)
		line("graphvcr->>%s: %s", to, req)
		if s.Abandoned > 0 {
			// The bot gives up first; the upstream's answer reaches
			// graphvcr only, and is never relayed.
			line("%s-xgraphvcr: %s", from, mermaidText("gave up: "+abandonedText(s)))
			if s.Error != "" {
				line("%s--xgraphvcr: %s", to, mermaidText("error: "+s.Error))
			} else {
				line("%s-->>graphvcr: %s", to, mermaidText(answer+", not relayed"))
			}
			return
		}
		if s.Error != "" {
			line("%s--xgraphvcr: %s", to, mermaidText("error: "+s.Error))
		} else {
			line("%s-->>graphvcr: %s", to, mermaidText(answer))
		}
		line("graphvcr-->>%s: %s", from, mermaidText(statusText(s.Status)))
	}
	note := fmt.Sprintf("#%d %s", s.Seq, formatOffset(s.Offset))
	if s.Kind != cassette.KindNotification {
		if s.Kind == cassette.KindToken {
			note += " token"
		}
		if s.Call != "" {
			note += " call " + shortID(s.Call)
		}
		line("Note left of bot: %s", mermaidText(note))
		exchange("bot", "Graph")
		return
	}
	if len(s.Kinds) > 0 {
		note += " " + strings.Join(s.Kinds, ", ")
	}
	if s.Trigger != 0 {
		note += fmt.Sprintf(" ← #%d", s.Trigger)
	}
	line("Note right of Graph: %s", mermaidText(note))
	exchange("Graph", "bot")
}

// shortID keeps the distinctive tail of a pseudonymous GUID
// ("…000000000003"); the full id is in the other views.
func shortID(id string) string {
	if len(id) > 12 {
		return "…" + id[len(id)-12:]
	}
	return id
}

// mermaidText makes recorded text safe as a Mermaid message or note: one
// line, and every character the sequence grammar or its HTML labels give a
// meaning to written as a Mermaid entity code (#59; for ";"), which Mermaid
// turns back into the character when it draws the label.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range term.OneLine(s) {
		switch r {
		case ';', '#', '<', '>', '&', '"', '%':
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return "-"
	}
	return out
}
