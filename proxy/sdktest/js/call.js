// A bot written with @microsoft/microsoft-graph-client and @azure/identity,
// as its developers would write it: only its configuration (read from the
// SDKTEST_* environment variables the Go test sets) differs from a bot that
// talks to the real Graph. It creates a call, invites a participant into it
// and prints one JSON object: {callId, callState, operationId,
// operationStatus, clientContext}.
//
// Pointed at graphvcr (reverse mode, `graphvcr record --tls`):
//   SDKTEST_GRAPH_ORIGIN  https://127.0.0.1:PORT   -> baseUrl (origin + "/"), defaultVersion "v1.0"
//   SDKTEST_ALLOWED_HOST  127.0.0.1                -> customHosts (bare host names)
//   SDKTEST_AUTHORITY     https://127.0.0.1:PORT   -> authorityHost of the credential
//   NODE_EXTRA_CA_CERTS   graphvcr's CA certificate (`graphvcr ca`)
"use strict";

const { Client } = require("@microsoft/microsoft-graph-client");
const {
  TokenCredentialAuthenticationProvider,
} = require("@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials");
const { ClientSecretCredential } = require("@azure/identity");

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`read client config: ${name} not set`);
  }
  return v;
}

function participant(userId, displayName) {
  return {
    "@odata.type": "#microsoft.graph.invitationParticipantInfo",
    identity: {
      "@odata.type": "#microsoft.graph.identitySet",
      user: { "@odata.type": "#microsoft.graph.identity", id: userId, displayName },
    },
  };
}

async function main() {
  const env = process.env;
  const tenantId = required("SDKTEST_TENANT_ID");

  const credOptions = {
    // Instance discovery asks login.microsoftonline.com which clouds exist;
    // a bot pointed at graphvcr (or a sovereign cloud) skips it.
    disableInstanceDiscovery: true,
  };
  if (env.SDKTEST_AUTHORITY) {
    credOptions.authorityHost = env.SDKTEST_AUTHORITY;
  }
  const credential = new ClientSecretCredential(
    tenantId,
    required("SDKTEST_CLIENT_ID"),
    required("SDKTEST_CLIENT_SECRET"),
    credOptions,
  );
  const authProvider = new TokenCredentialAuthenticationProvider(credential, {
    scopes: ["https://graph.microsoft.com/.default"],
  });

  const clientOptions = { authProvider };
  if (env.SDKTEST_GRAPH_ORIGIN) {
    clientOptions.baseUrl = env.SDKTEST_GRAPH_ORIGIN + "/";
    clientOptions.defaultVersion = "v1.0";
  }
  if (env.SDKTEST_ALLOWED_HOST) {
    clientOptions.customHosts = new Set([env.SDKTEST_ALLOWED_HOST]);
  }
  const client = Client.initWithMiddleware(clientOptions);

  const call = await client.api("/communications/calls").post({
    "@odata.type": "#microsoft.graph.call",
    callbackUri: required("SDKTEST_CALLBACK_URI"),
    tenantId,
    requestedModalities: ["audio"],
    mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
    targets: [participant(required("SDKTEST_TARGET_ID"), "Adele Vance")],
  });
  if (!call || !call.id) {
    throw new Error("create call: answer has no call id");
  }

  const op = await client
    .api(`/communications/calls/${encodeURIComponent(call.id)}/participants/invite`)
    .post({
      participants: [participant(required("SDKTEST_INVITEE_ID"), "Megan Bowen")],
      clientContext: env.SDKTEST_CLIENT_CONTEXT || "",
    });

  process.stdout.write(
    JSON.stringify({
      callId: call.id,
      callState: call.state || "",
      operationId: (op && op.id) || "",
      operationStatus: (op && op.status) || "",
      clientContext: (op && op.clientContext) || "",
    }) + "\n",
  );
}

main().catch((err) => {
  const status = err && err.statusCode ? ` (status ${err.statusCode}, code ${err.code})` : "";
  process.stderr.write(`graph-client: ${(err && err.message) || err}${status}\n`);
  if (err && err.body) {
    process.stderr.write(`graph-client: body: ${typeof err.body === "string" ? err.body : JSON.stringify(err.body)}\n`);
  }
  process.exitCode = 1;
});
