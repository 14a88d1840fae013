package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"time"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// ChangeNotifications names the cassette of the change-notification flows,
// recorded with the simulator's subscriptions API and the sample
// subscriber app rather than a calling scenario.
const ChangeNotifications = "change-notifications"

// The change-notification session's fixed inputs.
const (
	appURL       = "https://app.contoso.com" // where the app's notificationUrl points (a tunnel)
	presenceUser = "4b7c1e9a-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
)

// recordChanges records the change-notification flows into the cassette
// at path, replaced only once the recording is complete and every check of
// the app passed: a callRecords subscription and a rich presence
// subscription (each validated at its notification and lifecycle URLs), a
// callRecord created (the app GETs the record), a presence update the
// recorder decrypts with the app's key, and reauthorizationRequired (the
// app reauthorizes).
func recordChanges(ctx context.Context, path string) (proxy.RecordSummary, error) {
	toRecorder, toNotify, toGraph := newRedirect(), newRedirect(), newRedirect()
	defer toRecorder.close()
	defer toNotify.close()
	defer toGraph.close()

	g, err := graphtest.StartGraph(graphtest.GraphOptions{
		Seed: seed, ClientSecret: secret,
		NotifyClient: &http.Client{Transport: toNotify, Timeout: time.Minute},
	})
	if err != nil {
		return proxy.RecordSummary{}, fmt.Errorf("%s: start the simulator: %w", ChangeNotifications, err)
	}
	defer g.Close()
	toGraph.set(g.URL)
	// The app's key: the recorder decrypts with it (never stored), as
	// `graphvcr record --decrypt-key` does.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return proxy.RecordSummary{}, err
	}
	app, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{
		GraphURL: graphURL, TokenURL: loginURL + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID: g.ClientID(), ClientSecret: secret, TenantID: g.TenantID(),
		KeysConfigURL:    loginURL + "/" + g.TenantID() + "/v2.0/.well-known/openid-configuration",
		NotificationBase: appURL, Seed: seed, Key: key,
		HTTPClient: &http.Client{Transport: toRecorder, Timeout: time.Minute},
	})
	if err != nil {
		return proxy.RecordSummary{}, fmt.Errorf("%s: start the sample subscriber: %w", ChangeNotifications, err)
	}
	defer app.Close()

	cfg := proxy.RecordConfig{Upstream: graphURL, TokenUpstream: loginURL, Bot: app.URL, Transport: toGraph, DecryptKey: key}
	return recordSession(ctx, ChangeNotifications, path, cfg, toRecorder, toNotify, func() error {
		if err := changeFlows(ctx, g, app); err != nil {
			return err
		}
		return g.Flush(ctx)
	})
}

// changeFlows drives the app and the simulator through the flows and
// returns an error unless every notification reached the app and passed
// its checks.
func changeFlows(ctx context.Context, g *graphtest.Graph, app *graphtest.Subscriber) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	records, err := app.Subscribe(ctx, "/communications/callRecords", "created", false)
	if err != nil {
		return err
	}
	if _, err := app.Subscribe(ctx, "/communications/presences/"+presenceUser, "updated", true); err != nil {
		return err
	}
	want := 4 // the validations
	check := func(ds []graphtest.Delivery, err error) error {
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Err != nil || d.Status != http.StatusAccepted {
				return fmt.Errorf("delivery to %s: status %d, %v", d.URL, d.Status, d.Err)
			}
			want++
		}
		_, err = app.Wait(ctx, want) // the app's follow-up (GET, reauthorize) done
		return err
	}
	_, ds, err := g.NotifyCallRecord(ctx, nil)
	if err := check(ds, err); err != nil {
		return err
	}
	if err := check(g.NotifyPresence(ctx, presenceUser, "Busy", "InACall", nil)); err != nil {
		return err
	}
	d, err := g.NotifyLifecycle(ctx, records, graphtest.ReauthorizationRequired, nil)
	if err := check([]graphtest.Delivery{d}, err); err != nil {
		return err
	}
	for _, h := range app.Handled() {
		if h.Err != nil {
			return fmt.Errorf("the app's check of %s failed: %w", h.Class, h.Err)
		}
	}
	return nil
}
