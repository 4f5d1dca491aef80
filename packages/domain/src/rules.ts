/**
 * Every rule an error can name (`{"rule": …}` in an answer), with what it means. Rule names are
 * stable API: clients branch on them. The HTTP status comes from the error's kind, not the rule
 * (`required` is a 400 for a missing body field and a 422 inside a credentials document).
 * docs/api.md lists exactly these (test/rule-catalogue.test.ts).
 */
export const RULES = {
  // Requests as a whole
  json: 'the body (or a JSON document inside it) is not valid JSON',
  csv: 'a CSV upload with a header naming an unknown column, or a record that is not valid CSV',
  content_type: 'the Content-Type is not one this route takes',
  content_length: 'the Content-Length does not match the body',
  body_too_large: 'the body is larger than the route takes',
  request: 'the request is malformed in another way',
  url_encoding: 'the path is not valid percent-encoded UTF-8 (e.g. %ff)',
  max_param_length: 'a path segment longer than 100 characters (e.g. an id of 101 digits)',
  header_size: 'the request line and headers together are larger than the server takes (16 KB)',
  request_timeout: 'the request did not arrive in time',
  max_depth: 'a value with objects or arrays nested more than 32 levels deep (the path names the first too deep)',
  json_only: 'Bull Board takes POSTs of application/json only',
  method_not_allowed: 'the browser endpoint does not take this method',
  // Fields
  required: 'a required field is missing',
  unknown_field: 'a field the route does not know (bodies are strict: nothing is dropped silently)',
  invalid_type: 'the value has the wrong JSON type',
  invalid_value: 'the value is not one of those allowed',
  invalid_union: 'the value matches none of the accepted shapes',
  invalid_format: 'the value is not in the expected format',
  no_nul: 'a string or an object key with a NUL character (U+0000), which cannot be stored (a key: the field names its object)',
  well_formed_unicode: 'a string or an object key with a lone UTF-16 surrogate (U+D800-U+DFFF outside a pair)',
  decimal_integer: 'an id or a count not written as a decimal integer: digits only, without sign, leading zeros, exponent, fraction or spaces',
  regex: 'a string that does not match its pattern (e.g. a colour as #rrggbb)',
  max_length: 'a string is too long',
  min_length: 'a string is too short',
  max_items: 'an array has too many entries',
  min_items: 'an array has too few entries',
  max: 'a number is too large',
  min: 'a number is too small',
  not_multiple_of: 'a number is not a multiple of what is required',
  url: 'not an absolute http(s) URL (or one carrying credentials)',
  iso8601: 'not an ISO 8601 date-time',
  max_schedule_ahead: '`send_at` more than 5 days ahead',
  tag_characters: 'a tag or metric with characters outside a-z A-Z 0-9 _ - . : @ # = , ;',
  tag_expression_syntax: 'a tag expression that does not parse (with `expression` and `position`)',
  topic: 'a Web Push topic that is not 1-32 URL-safe base64 characters',
  payload_too_large: 'the notification would not fit a platform payload (with `size` and `limit`)',
  reserved_key: 'an FCM data key or APNs key the platform reserves',
  background_priority: 'an APNs background push with priority 10 (Apple takes 5 or 1)',
  exists: 'the id names nothing that exists (a sender, a project)',
  // Subscriptions
  https_required: 'a push endpoint or webhook URL over plain http on a host not listed in PUSHCAST_ALLOWED_PUSH_HOSTS',
  private_host: 'a push endpoint or webhook URL on a loopback, private, link-local, CGNAT or multicast address',
  host_not_allowed: 'a push endpoint on a host that is not a known push service nor allowed',
  p256_point: 'p256dh is not base64 of a 65-byte uncompressed P-256 point on the curve',
  auth_secret_16_bytes: 'auth is not base64 of 16 bytes',
  apns_token: 'an APNs device token that is not even-length hex of 64-200 digits',
  fcm_token: 'an FCM registration token with characters outside A-Z a-z 0-9 _ : . - or longer than 4,096',
  not_allowed_for_platform: 'a field of another platform (a token on a web subscription, an endpoint on a device)',
  // Senders and credentials
  pem: 'a key that is not the PEM expected (VAPID: EC P-256; FCM: RSA)',
  p256: 'a VAPID key that is not on P-256',
  key_mismatch: 'the VAPID public key is not the private key\'s',
  both_or_neither: 'the VAPID keys are given together or not at all',
  p8: 'an APNs key that is not an EC P-256 private key (.p8)',
  apple_id: 'an APNs key id or team id that is not 10 of A-Z 0-9',
  bundle_id: 'an APNs topic that is not a bundle id',
  service_account_type: 'an FCM service account whose type is not service_account',
  project_id: 'an FCM project id with characters outside letters, digits and - . :',
  email: 'not an email address',
  secret_key_not_configured:
    'a secret to store (provider credentials, a webhook, a project secret key, a sender and its VAPID key) given to a deployment without PUSHCAST_SECRET_KEY',
  sender_in_use: 'a sender that projects still use',
  // Notifications
  already_sent: 'cancelling a notification already sent',
  idempotency_key: 'an idempotency key that is not 1-255 printable ASCII characters',
  idempotency_key_mismatch: 'the header and the body give different idempotency keys',
  idempotency_key_reused: 'an idempotency key used within 24 hours with another request',
  quota_exceeded: 'the `reject` quota policy: the audience is more than the day has left',
  one_target: 'a CloudSignal send that gives none, or more than one, of target_all, target_user_emails, target_user_ids, target_registration_ids',
  wait_audience: '`wait` on a notification for more than 100 recipients, or a scheduled one (with `audience` and `limit`)',
  // Access
  token_required: 'no access token',
  token_invalid: 'an unknown or revoked access token',
  admin_required: 'an admin action with a project-scoped token',
  project_scope: 'a project outside the token\'s scope (or one that does not exist)',
  rate_limit: 'too many requests in the minute (with `limit` and `retry_after`)',
  dependency_down: 'PostgreSQL or Redis is unreachable; retry',
  // The browser side
  origin: 'an allowed origin that is not http(s)://host[:port]',
  origin_required: 'a browser request without an Origin',
  origin_not_allowed: 'an Origin that is not among the project\'s allowed origins',
  tag_pattern: 'a browser tag pattern that is not a tag or a tag prefix followed by *',
  tag_not_allowed: 'a tag browsers may not set in this project',
  hmac_sha256_hex: 'a uid signature that is not 64 hex digits',
  uid_required: 'a uid signature without a uid',
  uid_signature: 'a uid signature that is not signature_for(uid) under a token of the project',
  subscription_auth: 'an auth secret that is not the subscription\'s',
  open_token: 'an open report without the notification\'s open token',
  unknown_action: 'an open report naming an action the notification does not have',
  cursor: 'a `cursor` that is not one a previous page of this list gave',
  // Webhooks
  event_type: 'a webhook event type Pushcast does not send (nor a group like notification.* or *)',
  webhook_format: "a webhook field or event its format does not take: Beams' `v1.…` events, `secret` and `custom_data` only with format `beams`, only those events with it",
} as const satisfies Record<string, string>;

export type Rule = keyof typeof RULES;

export const isRule = (name: string): name is Rule => Object.hasOwn(RULES, name);

/** A rule for zod's custom issues (`params: ruleParam('url')`), typed so that a typo does not compile. */
export const ruleParam = (rule: Rule): { rule: Rule } => ({ rule });
