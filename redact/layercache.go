package redact

import "encoding/base64"

// The same encoded layers recur in every notification of a call: base64
// runs (the thread id inside "19:meeting_...@thread.v2", replacesContext,
// client_info) and percent-encoded texts (joinWebUrl). Decoding, redacting
// and re-encoding one is a pass of its own, so a Redactor keeps the outcome
// per text. An outcome stays right as long as the learned literals are the
// ones it was computed with: the pseudonym of an id never changes once
// issued, and redacting a text issues the same pseudonyms however often it
// is done.
const (
	maxLayersCached   = 1024 // entries; the cache is emptied when it is full
	maxLayerCachedLen = 2048 // longer texts (attachments, blobs) are not kept
)

// layer names an encoding: the pair b64 is called with, or percent.
type layer uint8

const (
	b64StdPadded layer = iota // raw standard decoding, padded re-encoding
	b64Std                    // raw standard both ways
	b64URL                    // raw base64url both ways
	layerPercent              // percent-encoding, redacted by percent
	layers
)

// layerOutcome is what b64 or percent did with a text: replaced it by
// repl, or left it.
type layerOutcome struct {
	gen      uint64 // the generation of the literals it was computed with
	known    bool
	replaced bool
	repl     string
}

// generation numbers snapshots of learned literals; nil is generation 0.
func (l *literals) generation() uint64 {
	if l == nil {
		return 0
	}
	return l.gen
}

// layerEntry holds the outcomes of one text, per layer and depth.
type layerEntry [layers][maxDepth]layerOutcome

func b64Layer(dec, enc *base64.Encoding) layer {
	switch {
	case dec == base64.RawURLEncoding:
		return b64URL
	case enc == base64.StdEncoding:
		return b64StdPadded
	}
	return b64Std
}

// cachedLayer returns the outcome of text in layer v at depth d, if known
// for the literals lits.
func (r *Redactor) cachedLayer(text []byte, v layer, d int, lits *literals) (layerOutcome, bool) {
	if len(text) > maxLayerCachedLen {
		return layerOutcome{}, false
	}
	r.layersMu.RLock()
	e := r.layers[string(text)]
	var o layerOutcome
	if e != nil {
		o = e[v][d]
	}
	r.layersMu.RUnlock()
	return o, o.known && o.gen == lits.generation()
}

// cacheLayer records the outcome of text.
func (r *Redactor) cacheLayer(text []byte, v layer, d int, o layerOutcome) {
	if len(text) > maxLayerCachedLen {
		return
	}
	o.known = true
	r.layersMu.Lock()
	defer r.layersMu.Unlock()
	e := r.layers[string(text)]
	if e == nil {
		if len(r.layers) >= maxLayersCached {
			clear(r.layers)
		}
		e = new(layerEntry)
		r.layers[string(text)] = e
	}
	e[v][d] = o
}
