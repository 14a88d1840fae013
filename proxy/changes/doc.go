// Package changes handles Microsoft Graph change notifications for the
// recorder and the replayer: the subscription validation handshake, the
// secrets a notification carries (clientState, validationTokens, the
// encryptedContent of rich notifications) and their replay equivalents.
//
// It has no state and imports no other graphvcr package but
// cassette/timeline, which owns the classification (Classify), since the
// views may not import proxy. Every function
// takes bytes (gjson/sjson, never a full unmarshal, so unknown fields and
// field order survive) and returns bytes.
//
// # Crypto
//
// A rich notification's encryptedContent is Decrypt'ed with the app's
// private key (LoadKey: PEM PKCS#1/PKCS#8 or PKCS#12) and Encrypt'ed for
// the certificate an app sends in encryptionCertificate
// (ParseCertificate): a fresh AES-256 key per notification, the data in
// AES-CBC with PKCS#7 padding and the key's first 16 bytes as IV,
// dataSignature the HMAC-SHA256 of the encrypted data with that key
// (checked in constant time before decrypting), dataKey the key in
// RSA-OAEP with SHA-1.
//
// # Wiring into the recorder
//
// The recorder config gains DecryptKey *rsa.PrivateKey (from
// `--decrypt-key FILE`, loaded once at start with LoadKey; its error is
// the one-line exit-2 message).
//
//   - Graph request POST/PATCH /subscriptions: before redaction, the
//     request and response bodies go through RedactSubscription (no
//     clientState, no certificate is stored; a Redacted marker says one
//     was there). Nothing else changes.
//   - Notification listener, before the cause is known: ValidationToken(
//     method, url) tells a validation request. It is relayed to the app at
//     once (DESIGN: never held behind the still-unanswered POST
//     /subscriptions it belongs to), and stored as a notification whose
//     trigger is that POST, its URL through RedactValidationURL and the
//     app's echo body (the same token) replaced by Redacted; the echo's
//     status and Content-Type are kept. CheckEcho on the live
//     answer may be logged.
//   - Any other notification body for which IsChangeNotification holds,
//     in this order, before the redactor:
//     1. TokenClaims on each of ValidationTokens(body): the claims are
//     kept like a bearer's (cassette.Bearer, redacted like any id), then
//     RedactValidationTokens(body); the recorder stores the claims, after
//     redaction, under ClaimsField.
//     2. RedactClientState(body) (the recorder keeps a Redacted marker).
//     3. With DecryptKey: Decrypted(body, key); on an error, log it and
//     fall back to StripEncrypted. Without: StripEncrypted(body), and when
//     it removed n > 0 for the first time in the session, warn once:
//     "rich notification stored without its resource data: give
//     --decrypt-key FILE (the app's private key) to keep it".
//     The redactor then pseudonymises DecryptedField like any JSON. What is
//     relayed to the app is always the body as received.
//   - The leak scanner should flag a "clientState" value other than
//     Redacted, an "encryptedContent" object and a "validationTokens" entry
//     other than Redacted.
//
// # Wiring into the replayer
//
//   - Graph request POST /subscriptions: ParseSubscription(live body)
//     (error: answer 400 like Graph and report it). Then, for
//     NotificationURL and LifecycleNotificationURL (when set), each with a
//     fresh NewValidationToken: NewValidationRequest, sent with a
//     ValidationTimeout context; CheckEcho on the answer. On any failure
//     answer 400 with ValidationErrorBody (Content-Type application/json)
//     and count a divergence under --strict. On success, answer the
//     matched recorded 201 through BindSubscription(resp, live) after the
//     usual pseudonym binding, and keep live (its ClientState,
//     EncryptionCertificate, EncryptionCertificateID) under the
//     subscription id the answer carries, for its notifications. PATCH
//     answers go through BindSubscription too (expirationDateTime). The
//     recorded validation notifications are matched by this handshake and
//     never delivered from the cassette.
//   - Each recorded change or lifecycle notification, at delivery time,
//     after pseudonym binding: look up the live subscription by the
//     item's subscriptionId (the bound pseudonym), then
//     Bind(body, Live{id, live.ClientState, tenant}),
//     Reencrypt(body, live.EncryptionCertificate, live.EncryptionCertificateID),
//     and for each recorded validation token SignValidationToken with the
//     replay signing key and kid (the recorded claims bound like a
//     bearer's: aud the app id, tid the live tenant, iss
//     ValidationIssuer(tid)), put in place with SetValidationTokens. The
//     signing key's JWKS must also be answered at the identity platform's
//     {tenant}/discovery/v2.0/keys and keys paths (by Host, through the
//     proxy, or under the admin prefix) where apps fetch validation token
//     keys.
//   - show/diff: Classify(method, url, body) names a notification; "" means
//     it is not a change notification (use the calling classes).
package changes
