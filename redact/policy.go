package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/tidwall/gjson"
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

// patterns applies the policy's extra regular expressions: each match is
// pseudonymised whole, like a name.
func (p *pass) patterns(src []byte) {
	added := false
	for _, re := range p.r.policy.RedactPatterns {
		for _, m := range re.FindAllIndex(src, -1) {
			if m[0] == m[1] || p.overlaps(m[0], m[1]) || IsPseudonym(string(src[m[0]:m[1]])) {
				continue
			}
			p.spans = append(p.spans, span{start: m[0], end: m[1], kind: kName, form: FormName})
			added = true
		}
	}
	if added {
		p.sortSpans()
	}
}

// policyRanges resolves the policy's gjson paths to byte ranges of b: values
// to keep whole and values to pseudonymise whole. Invalid JSON gets none:
// gjson's offsets are only trustworthy on valid input.
func (r *Redactor) policyRanges(b []byte, lenient bool) (keep, force [][2]int) {
	if lenient {
		return nil, nil
	}
	collect := func(paths []string) [][2]int {
		var rs [][2]int
		for _, path := range paths {
			res := gjson.GetBytes(b, path)
			if !res.Exists() {
				continue
			}
			if res.Indexes != nil {
				for k, el := range res.Array() {
					if k < len(res.Indexes) && res.Indexes[k] > 0 {
						rs = append(rs, [2]int{res.Indexes[k], res.Indexes[k] + len(el.Raw)})
					}
				}
				continue
			}
			if res.Index > 0 || (res.Index == 0 && bytes.HasPrefix(b, []byte(res.Raw))) {
				rs = append(rs, [2]int{res.Index, res.Index + len(res.Raw)})
			}
		}
		slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
		return rs
	}
	if len(r.policy.KeepPaths) > 0 {
		keep = collect(r.policy.KeepPaths)
	}
	if len(r.policy.RedactPaths) > 0 {
		force = collect(r.policy.RedactPaths)
	}
	return keep, force
}
