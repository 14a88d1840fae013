// Package sdktest proves that the official Microsoft Graph SDKs work through
// graphvcr's record and replay unchanged except for their configuration.
//
// It is a nested module so that the main module does not depend on the
// SDKs: run it with .ci/sdk-tests.
package sdktest
