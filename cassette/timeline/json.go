package timeline

import (
	"fmt"
	"io"

	"github.com/graphvcr/graphvcr/cassette"
)

// JSON writes r's events as JSON lines, one object per event in sequence
// order: the object cassette.EventJSON describes, the same `graphvcr show
// --format json` and `graphvcr export --format jsonl` print.
func JSON(w io.Writer, r *cassette.Reader) error {
	if err := cassette.WriteJSONL(w, r); err != nil {
		return fmt.Errorf("json timeline: %w", err)
	}
	return nil
}
