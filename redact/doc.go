// Package redact removes secrets from recorded Graph traffic and replaces
// identifiers and personal data with consistent, format-preserving pseudonyms.
//
// A Redactor serves one cassette: every distinct GUID, phone number (in any
// written form), email address, display name, callback host, IP address,
// Teams thread id and identifier-field value (the field table of fields.go:
// conference ids, passcodes, MAC addresses, device names, ...) it meets gets
// one pseudonym for the whole session, numbered by first appearance and
// rendered in the original's form, so ids that lined up in the live traffic (the call id in
// a URL, in a Location header and inside "28:GUID" in a notification) still
// line up in the cassette. The mapping lives in memory only; TakeNew and
// Pseudonyms expose pseudonyms, never originals.
//
// Values that identify nothing are kept: the nil GUID, loopback and
// documentation addresses, and a MAC address that says "no address" (all
// zeros, six or eight groups, or 02-00-00-00-00-00, what call records report
// when privacy settings hide the device).
//
// Secrets (bearer tokens, cookies, any JWT, client secrets and assertions,
// access, refresh and id tokens, meeting tokens) are removed, not
// pseudonymised: the marker Removed is left in their place.
//
// Redaction is idempotent: pseudonyms and the marker map to themselves, so
// redacting already-redacted text changes nothing.
//
// Scanner looks at redacted data and reports whatever still looks like a
// secret or a real identifier; FindIDs, IsPseudonym and Form.Render let the
// replayer bind pseudonyms to live values.
package redact
