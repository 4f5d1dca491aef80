/**
 * How to point the real firebase-admin (13.x) at a local FCM server without touching node_modules.
 *
 * firebase-admin has no emulator or endpoint option for messaging: `fcm.googleapis.com` is a constant
 * in lib/messaging/messaging.js. It reaches it two ways:
 *
 * - `sendEach()` / `sendEachForMulticast()` (HTTP/2, the default): each call builds an
 *   `Http2SessionHandler`, whose constructor runs `http2.connect('https://fcm.googleapis.com',
 *   { peerMaxConcurrentStreams: 100, ALPNProtocols: ['h2'] })` on the CommonJS `http2` module object
 *   (lib/utils/api-request.js). Nothing from AppOptions reaches that call, so the only seam is the
 *   `connect` property of that shared object: {@link redirectFcmTo}.
 * - `send()`, and `sendEach()` after `enableLegacyHttpTransport()` (HTTP/1.1): `https.request` with
 *   `agent: app.options.httpAgent`. That one is an option, no patching: {@link createFcmAgent}.
 *
 * A real service-account credential, `cert(serviceAccount, httpAgent)`, fetches its access token with
 * `POST https://oauth2.googleapis.com/token` (HTTP/1.1) through google-auth-library → gaxios →
 * node-fetch → `https.request`, which the local server answers too (oauth.ts). Which agent that request
 * uses depends on what `cert()` got (firebase-admin 13.9, lib/app/credential-internal.js):
 *
 * - a file path: `GoogleAuth` builds the client with `clientOptions.transporterOptions.agent`, so
 *   `httpAgent` is used, and {@link createFcmAgent} (which serves oauth2.googleapis.com as well) routes it;
 * - an object (what Pushcast passes, from its database): `populateGoogleAuth` calls
 *   `GoogleAuth.fromJSON(json)` without the client options, so `httpAgent` is silently dropped and the
 *   request goes out on Node's `https.globalAgent` (firebase/firebase-admin-node#2960, open). The seam
 *   for that is {@link redirectOAuthTo}.
 *
 *   const agent = createFcmAgent(service.origin, service.caPem);
 *   const undoFcm = redirectFcmTo(service.origin, service.caPem);
 *   const undoOAuth = redirectOAuthTo(service.origin, service.caPem);
 *   initializeApp({ credential: cert(serviceAccountJson, agent), projectId, httpAgent: agent }, name);
 *
 * All of them dial the local server's IP directly, so no Google host is ever resolved, while the
 * request keeps `:authority` / `Host: fcm.googleapis.com` (or `oauth2.googleapis.com`) as in production.
 */
// One implementation of the redirects, shared with the workers (PUSHCAST_FCM_URL): @pushcast/providers.
export { createFcmAgent, FCM_HOST, redirectFcmTo, redirectOAuthTo } from '@pushcast/providers';

/**
 * What firebase-admin's credential contract needs, with a fixed token; nothing is fetched, not even
 * from the local token endpoint. Pair with `trustProject` on a guarded server. For the real credential
 * path use `cert(generateServiceAccount(...).json, agent)` with `trustServiceAccount` and
 * `redirectOAuthTo`.
 */
export function localFcmCredential(accessToken = 'local-fcm-token'): {
  getAccessToken(): Promise<{ access_token: string; expires_in: number }>;
} {
  return { getAccessToken: async () => ({ access_token: accessToken, expires_in: 3600 }) };
}
