package proxy

import (
	"sync"

	"github.com/graphvcr/graphvcr/redact"
)

// pendingNames carries pseudonyms from the Redactor to the cassette, whose
// set of pseudonyms must hold every one a committed event uses, stored in
// the same transaction as that event or an earlier one.
//
// Events are redacted concurrently, so the redaction that issues a
// pseudonym (and takes it with TakeNew) may belong to another event than
// the first one committed with it, and that other event may be committed
// later, or never (its Append can fail). So every Append carries every
// pseudonym issued and not yet known to be stored. A redaction that uses a
// pseudonym ends after it was issued, and takes the pending set after that:
// the pseudonym is then either in it, or was removed once an Append that
// carried it had returned, so it is already stored. Storing one twice is
// harmless: the cassette keeps a set. In practice the set holds only the
// pseudonyms of the exchanges in flight.
type pendingNames struct {
	mu    sync.Mutex
	names map[string]struct{}
}

// take moves the pseudonyms red issued since the last call into the set
// and returns the whole set.
func (p *pendingNames) take(red *redact.Redactor) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range red.TakeNew() {
		if p.names == nil {
			p.names = map[string]struct{}{}
		}
		p.names[n] = struct{}{}
	}
	if len(p.names) == 0 {
		return nil
	}
	out := make([]string, 0, len(p.names))
	for n := range p.names {
		out = append(out, n)
	}
	return out
}

// stored removes names, now durable in the cassette, from the set.
func (p *pendingNames) stored(names []string) {
	if len(names) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		delete(p.names, n)
	}
}
