package sdktest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// clientConfig is what a bot built on an official SDK is configured with.
// Every SDK client (the Go child process, the Node script) reads the same
// SDKTEST_* environment variables, so one test drives both the same way.
// An empty GraphOrigin, AllowedHost or Authority leaves the SDK's default
// (https://graph.microsoft.com, its own host list, login.microsoftonline.com).
type clientConfig struct {
	GraphOrigin   string // scheme://host[:port] of Graph, without version
	AllowedHost   string // bare host name the SDK may send its token to
	Authority     string // https://host[:port]/ of the token authority
	TenantID      string
	ClientID      string
	ClientSecret  string
	CallbackURI   string
	TargetID      string // user called by the bot
	InviteeID     string // user invited into the call
	ClientContext string
}

var clientEnvNames = []struct {
	name  string
	field func(*clientConfig) *string
}{
	{"SDKTEST_GRAPH_ORIGIN", func(c *clientConfig) *string { return &c.GraphOrigin }},
	{"SDKTEST_ALLOWED_HOST", func(c *clientConfig) *string { return &c.AllowedHost }},
	{"SDKTEST_AUTHORITY", func(c *clientConfig) *string { return &c.Authority }},
	{"SDKTEST_TENANT_ID", func(c *clientConfig) *string { return &c.TenantID }},
	{"SDKTEST_CLIENT_ID", func(c *clientConfig) *string { return &c.ClientID }},
	{"SDKTEST_CLIENT_SECRET", func(c *clientConfig) *string { return &c.ClientSecret }},
	{"SDKTEST_CALLBACK_URI", func(c *clientConfig) *string { return &c.CallbackURI }},
	{"SDKTEST_TARGET_ID", func(c *clientConfig) *string { return &c.TargetID }},
	{"SDKTEST_INVITEE_ID", func(c *clientConfig) *string { return &c.InviteeID }},
	{"SDKTEST_CLIENT_CONTEXT", func(c *clientConfig) *string { return &c.ClientContext }},
}

// env renders c as NAME=value pairs for a child process.
func (c clientConfig) env() []string {
	out := make([]string, 0, len(clientEnvNames))
	for _, e := range clientEnvNames {
		out = append(out, e.name+"="+*e.field(&c))
	}
	return out
}

// clientConfigFromEnv reads what env wrote, in the child process.
func clientConfigFromEnv() (clientConfig, error) {
	var c clientConfig
	for _, e := range clientEnvNames {
		*e.field(&c) = os.Getenv(e.name)
	}
	var missing []string
	for name, v := range map[string]string{"SDKTEST_TENANT_ID": c.TenantID, "SDKTEST_CLIENT_ID": c.ClientID,
		"SDKTEST_CLIENT_SECRET": c.ClientSecret, "SDKTEST_CALLBACK_URI": c.CallbackURI,
		"SDKTEST_TARGET_ID": c.TargetID, "SDKTEST_INVITEE_ID": c.InviteeID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return c, fmt.Errorf("read client config: %s not set", strings.Join(missing, ", "))
	}
	return c, nil
}

// clientResult is what an SDK client prints, as one JSON object on stdout,
// after creating a call and inviting a participant into it.
type clientResult struct {
	CallID          string `json:"callId"`
	CallState       string `json:"callState"`
	OperationID     string `json:"operationId"`
	OperationStatus string `json:"operationStatus"`
	ClientContext   string `json:"clientContext"`
}

// parseClientResult reads the last JSON object line of a client's stdout.
func parseClientResult(stdout []byte) (*clientResult, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var r clientResult
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return nil, fmt.Errorf("parse client result %q: %w", last, err)
	}
	return &r, nil
}
