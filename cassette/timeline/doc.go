// Package timeline renders a cassette as a timeline a person reads: plain or
// coloured text for a terminal, one JSON object per event, a Mermaid sequence
// diagram to paste into a GitHub issue, and a self-contained HTML page.
//
// Every view shows what the cassette holds, which is already redacted: the
// pseudonyms a cassette carries appear as they are. The views read the
// cassette once, in sequence order, so they work on cassettes of any length;
// only small per-event summaries are kept in memory.
package timeline
