package graphtest

import "time"

// replayGraphURL is the Graph base URL of a ReplaySubscriber: a placeholder
// host that its LateDialer connects to the replayer, whose address is known
// only once it has started, which itself needs the app's URL.
const replayGraphURL = "http://graph.replay.invalid"

// ReplaySubscriber is a sample subscriber app that a change-notification
// cassette is replayed to: a fresh app, unlike the recorded one, so that
// the replay has to bind every id to it and validate every subscription
// with it live.
type ReplaySubscriber struct {
	*Subscriber
	// Graph carries all of the app's traffic to Graph and to the identity
	// platform (its token and its validation tokens' keys), which a
	// replayer serves on one listener: Set it to the replayer's URL once it
	// listens.
	Graph *LateDialer
}

// StartReplaySubscriber starts a ReplaySubscriber with a key and
// certificate of its own and a tenant, app id, secret and clientState that
// derive from seed, so that another seed presents another app. Its
// notification URLs have the scheme and host of notificationBase, as an app
// behind its own tunnel would send.
func StartReplaySubscriber(seed int64, notificationBase string) (*ReplaySubscriber, error) {
	ids := newIDSource(seed, 0x52504c59) // "RPLY": a stream of its own, apart from the subscriber's
	tenant, appID := ids.guid(), ids.guid()
	toGraph := &LateDialer{}
	app, err := StartSubscriber(SubscriberOptions{
		GraphURL:         replayGraphURL,
		TokenURL:         replayGraphURL + "/" + tenant + "/oauth2/v2.0/token",
		ClientID:         appID,
		ClientSecret:     "secret-" + ids.guid(),
		TenantID:         tenant,
		KeysConfigURL:    replayGraphURL + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		NotificationBase: notificationBase,
		Seed:             seed,
		HTTPClient:       toGraph.Client(30 * time.Second),
	})
	if err != nil {
		return nil, err
	}
	return &ReplaySubscriber{Subscriber: app, Graph: toGraph}, nil
}

// Close stops the app, then closes its idle connections to the replayer,
// so that none outlives the session.
func (s *ReplaySubscriber) Close() {
	s.Subscriber.Close()
	s.Graph.CloseIdleConnections()
}
