package graphtest

import (
	"bytes"
	"encoding/json"
)

// obj is a JSON object that keeps its keys in the order written, so bodies
// read like Graph's ("@odata.type" first, then the documented order).
type obj []field

type field struct {
	k string
	v any
}

// MarshalJSON writes the fields in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// mustJSON marshals values built in this package from strings, numbers and
// obj, which cannot fail; a failure is a broken invariant.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("graphtest: marshal built-in body: " + err.Error())
	}
	return b
}
