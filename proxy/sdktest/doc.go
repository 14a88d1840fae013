// Package sdktest proves that the official Microsoft Graph SDKs work through
// graphvcr record and replay unchanged except for their configuration.
//
// Its tests drive two real clients, each creating a call and inviting a
// participant into it against the graphtest simulator:
//
//   - msgraph-sdk-go with azidentity's ClientSecretCredential, run as a
//     child process of the test binary so that it reads HTTPS_PROXY and
//     SSL_CERT_FILE from its own environment, through graphvcr's --tls
//     listener as its base URL and authority, and through graphvcr as an
//     HTTPS proxy with the real host names;
//   - @microsoft/microsoft-graph-client with @azure/identity on Node
//     (js/call.js), through the --tls listener, trusting graphvcr's CA with
//     NODE_EXTRA_CA_CERTS.
//
// Each recording is then replayed with the simulator gone and a bogus
// client secret, and the cassettes are scanned for leaks.
//
// It is a module of its own so that the main module does not depend on the
// SDKs, and `go test ./...` at the repository root does not build them.
// Run it with .ci/sdk-tests, which installs Node and the npm packages first.
package sdktest
