package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// Policy adjusts what a Redactor does. The zero Policy (and a nil *Policy
// given to New) redacts everything graphvcr knows about and keeps nothing.
type Policy struct {
	// KeepPaths are gjson paths of JSON body values left untouched, e.g.
	// "value.#.resourceData.state". Keeping a path that holds a secret stores
	// the secret: the policy's author answers for it.
	KeepPaths []string
	// KeepHeaders are header names whose values are left untouched
	// (case-insensitive). Authorization and cookies can be kept this way too.
	KeepHeaders []string
	// RedactPaths are extra gjson paths whose string values are pseudonymised
	// whole, like a display name ("Person N"); strings inside an object or
	// array at such a path are each pseudonymised.
	RedactPaths []string
	// RedactPatterns are extra regular expressions; every match in a body,
	// header, URL or text is pseudonymised whole, like a display name.
	RedactPatterns []*regexp.Regexp
	// Fields extend or override the identifier field table: a field name
	// (matched whatever its case, '_' and '-') to the class its values
	// are pseudonymised as: "id", "ip", "mac", "phone", "name", "secret",
	// "shape" (only what a shape gives away) or "keep" (left as is).
	Fields map[string]string
}

// policyFile is the JSON form of a Policy.
type policyFile struct {
	KeepPaths      []string          `json:"keepPaths"`
	KeepHeaders    []string          `json:"keepHeaders"`
	RedactPaths    []string          `json:"redactPaths"`
	RedactPatterns []string          `json:"redactPatterns"`
	Fields         map[string]string `json:"fields"`
}

// LoadPolicy reads a policy from a small JSON file:
//
//	{"keepPaths": ["value.#.resourceData.state"], "keepHeaders": ["User-Agent"],
//	 "redactPaths": ["clientContext"], "redactPatterns": ["EMP-[0-9]{6}"],
//	 "fields": {"roomNumber": "id", "subnet": "keep"}}
//
// Unknown fields are an error, so a misspelt key cannot silently keep data.
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	if _, err := parsePolicyFields(f.Fields); err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	p := &Policy{KeepPaths: f.KeepPaths, KeepHeaders: f.KeepHeaders, RedactPaths: f.RedactPaths, Fields: f.Fields}
	for _, s := range f.RedactPatterns {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("load policy %s: pattern %q: %w", path, s, err)
		}
		p.RedactPatterns = append(p.RedactPatterns, re)
	}
	return p, nil
}
