package proxy

import (
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
)

// TestLoginPath checks the one table both sides read: recording sends every
// login path to the token upstream, replay answers some of them offline.
func TestLoginPath(t *testing.T) {
	const guid = "aa67bd4c-8475-432d-bd41-39f255720e0a"
	tests := []struct {
		path   string
		login  bool
		tenant string
		class  string
	}{
		{"/" + guid + "/oauth2/v2.0/token", true, guid, loginToken},
		{"/" + guid + "/oauth2/token", true, guid, loginToken},
		{"/" + guid + "/oauth2/v2.0/authorize", true, guid, ""},
		{"/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", true, "contoso.onmicrosoft.com", loginOpenID},
		{"/common/.well-known/openid-configuration", true, "common", loginOpenID},
		{"/common/v2.0/.well-known/openid-configuration/x", true, "common", ""},
		{"/common/discovery/instance", true, "common", loginInstance},
		{"/" + guid + "/discovery/v2.0/keys", true, guid, ""},
		{"/v1.0/communications/calls", false, "", ""},
		{"/beta/app/calls/x/participants/invite", false, "", ""},
		{"//oauth2/token", false, "", ""},
		{"/oauth2/token", false, "", ""},
		{"oauth2/token", false, "", ""},
		{"", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tenant, class, ok := loginPath(tt.path)
			if ok != tt.login || tenant != tt.tenant || class != tt.class {
				t.Errorf("loginPath(%q) = %q, %q, %v; want %q, %q, %v", tt.path, tenant, class, ok, tt.tenant, tt.class, tt.login)
			}
		})
	}
}

// TestLookupHost checks what each side makes of a host name: recording
// intercepts Graph and login, replay also answers the metadata publishers.
func TestLookupHost(t *testing.T) {
	tests := []struct {
		hostport string
		known    bool
		kind     cassette.Kind
		metadata bool
	}{
		{"graph.microsoft.com:443", true, cassette.KindGraph, false},
		{"GRAPH.microsoft.com", true, cassette.KindGraph, false},
		{"login.microsoftonline.com:443", true, cassette.KindToken, false},
		{"api.aps.skype.com:443", true, 0, true},
		{"Login.BotFramework.com", true, 0, true},
		{"example.com:443", false, 0, false},
		{"127.0.0.1:8080", false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.hostport, func(t *testing.T) {
			h, ok := lookupHost(tt.hostport)
			if ok != tt.known || h.kind != tt.kind || h.metadata != tt.metadata {
				t.Errorf("lookupHost(%q) = %+v, %v; want kind %v metadata %v known %v", tt.hostport, h, ok, tt.kind, tt.metadata, tt.known)
			}
		})
	}
}
