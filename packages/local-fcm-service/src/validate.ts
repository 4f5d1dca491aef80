/**
 * Checks a `messages:send` body the way FCM HTTP v1 does: proto3 JSON rules (both `snake_case` and
 * `lowerCamelCase` field names, `null` meaning unset, unknown fields refused, enums case-insensitive)
 * plus FCM's own rules (exactly one target, string-only data). Messages follow Google's wording,
 * because a sender's logs and tests read them.
 */

export interface Violation {
  /** Google's `fieldViolations[].field`, e.g. `message.data[0].value`. */
  field: string;
  description: string;
  /** FCM adds an FcmError detail (errorCode INVALID_ARGUMENT) for semantic errors, not for JSON shape errors. */
  semantic: boolean;
}

export type SendBody =
  | { ok: true; message: Record<string, unknown>; validateOnly: boolean; token: string | undefined }
  | { ok: false; violation: Violation; message: unknown; validateOnly: boolean; token: string | undefined };

type Check = (value: unknown, path: string) => Violation | undefined;

export function validateSendBody(text: string): SendBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return refuse(undefined, false, shapeError('', 'Invalid JSON payload received. Unexpected token.'));
  }
  if (!isObject(body)) {
    return refuse(undefined, false, shapeError('', `Invalid JSON payload received. Expected an object, got ${show(body)}.`));
  }
  const message = pick(body, 'message');
  const validateOnly = pick(body, 'validate_only') === true;
  const bodyViolation = checkBody(body, '');
  if (bodyViolation !== undefined) return refuse(message, validateOnly, bodyViolation);
  if (!isObject(message)) {
    return refuse(message, validateOnly, semanticError('message', 'Recipient of the message is not set.'));
  }
  const semantic = checkSemantics(message);
  if (semantic !== undefined) return refuse(message, validateOnly, semantic);
  return { ok: true, message, validateOnly, token: tokenOf(message) };
}

function refuse(message: unknown, validateOnly: boolean, violation: Violation): SendBody {
  return { ok: false, violation, message, validateOnly, token: tokenOf(message) };
}

function tokenOf(message: unknown): string | undefined {
  const token = isObject(message) ? pick(message, 'token') : undefined;
  return typeof token === 'string' ? token : undefined;
}

function checkSemantics(message: Record<string, unknown>): Violation | undefined {
  const targets = (['token', 'topic', 'condition'] as const).filter((name) => pick(message, name) != null);
  if (targets.length === 0) return semanticError('message', 'Recipient of the message is not set.');
  if (targets.length > 1) {
    return shapeError(
      'message',
      `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${targets[1]}'`,
    );
  }
  const token = pick(message, 'token');
  if (typeof token === 'string' && token.trim() === '') {
    return semanticError('message.token', 'The registration token is not a valid FCM registration token');
  }
  const topic = pick(message, 'topic');
  if (typeof topic === 'string' && !/^(\/topics\/)?[a-zA-Z0-9-_.~%]{1,900}$/.test(topic)) {
    return semanticError('message.topic', 'Invalid topic name.');
  }
  const condition = pick(message, 'condition');
  if (typeof condition === 'string' && condition.trim() === '') {
    return semanticError('message.condition', 'Invalid condition expression provided.');
  }
  for (const [label, map] of [
    ['message.data', pick(message, 'data')],
    ['message.android.data', isObject(pick(message, 'android')) ? pick(pick(message, 'android') as object, 'data') : undefined],
  ] as const) {
    if (!isObject(map)) continue;
    for (const key of Object.keys(map)) {
      if (isReservedDataKey(key)) return semanticError(label, `Invalid data payload key: ${key}`);
    }
  }
  const android = pick(message, 'android');
  const androidNotification = isObject(android) ? pick(android, 'notification') : undefined;
  const color = isObject(androidNotification) ? pick(androidNotification, 'color') : undefined;
  if (typeof color === 'string' && !/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(color)) {
    return semanticError('message.android.notification.color', `Invalid color format: ${color}`);
  }
  return undefined;
}

/** FCM keeps these for itself on Android. */
function isReservedDataKey(key: string): boolean {
  return key === 'from' || key === 'message_type' || key.startsWith('google.') || key.startsWith('gcm.');
}

// ---- proto3 JSON shape ----------------------------------------------------------------------------

const str: Check = (value, path) => (typeof value === 'string' ? undefined : typeError(path, 'TYPE_STRING', value));

const bool: Check = (value, path) => (typeof value === 'boolean' ? undefined : typeError(path, 'TYPE_BOOL', value));

const double: Check = (value, path) =>
  typeof value === 'number' && Number.isFinite(value) ? undefined : typeError(path, 'TYPE_DOUBLE', value);

/** proto3 JSON accepts 64/32-bit integers as numbers or decimal strings. */
const int32: Check = (value, path) => {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && Math.abs(n) <= 2 ** 31
    ? undefined
    : typeError(path, 'TYPE_INT32', value);
};

const DURATION = /^\d{1,12}(\.\d{1,9})?s$/;
const duration: Check = (value, path) =>
  typeof value === 'string' && DURATION.test(value)
    ? undefined
    : typeError(path, 'type.googleapis.com/google.protobuf.Duration', value);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const timestamp: Check = (value, path) =>
  typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value))
    ? undefined
    : typeError(path, 'type.googleapis.com/google.protobuf.Timestamp', value);

/** google.protobuf.Struct: any JSON object. */
const struct: Check = (value, path) =>
  isObject(value) ? undefined : typeError(path, 'type.googleapis.com/google.protobuf.Struct', value);

function enumOf(typeName: string, values: readonly string[]): Check {
  const allowed = new Set(values);
  return (value, path) =>
    typeof value === 'string' && allowed.has(value.toUpperCase())
      ? undefined
      : typeError(path, `type.googleapis.com/google.firebase.fcm.v1.${typeName}`, value);
}

/** map<string, string>: FCM's `data` and `headers`; a value of another type is the most common sender bug. */
const stringMap: Check = (value, path) => {
  if (!isObject(value)) return typeError(path, 'TYPE_MESSAGE', value);
  let index = 0;
  for (const entry of Object.values(value)) {
    if (entry !== null && typeof entry !== 'string') return typeError(`${path}[${index}].value`, 'TYPE_STRING', entry);
    index++;
  }
  return undefined;
};

function arrayOf(item: Check): Check {
  return (value, path) => {
    if (!Array.isArray(value)) return typeError(path, 'TYPE_LIST', value);
    for (let i = 0; i < value.length; i++) {
      const problem = item(value[i], `${path}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

/** A message type: fields named in snake_case here, accepted in either spelling on the wire. */
function object(fields: Readonly<Record<string, Check>>): Check {
  return (value, path) => {
    if (!isObject(value)) return typeError(path, 'TYPE_MESSAGE', value);
    for (const [key, fieldValue] of Object.entries(value)) {
      const name = snakeCase(key);
      const check = fields[name];
      if (check === undefined) {
        const at = path === '' ? '' : ` at '${path}'`;
        return shapeError(path, `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}${at}: Cannot find field.`);
      }
      if (fieldValue === null) continue;
      const problem = check(fieldValue, path === '' ? name : `${path}.${name}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

const fcmOptions = object({ analytics_label: str });

const lightSettings = object({
  color: object({ red: double, green: double, blue: double, alpha: double }),
  light_on_duration: duration,
  light_off_duration: duration,
});

const androidNotification = object({
  title: str,
  body: str,
  icon: str,
  color: str,
  sound: str,
  tag: str,
  click_action: str,
  body_loc_key: str,
  body_loc_args: arrayOf(str),
  title_loc_key: str,
  title_loc_args: arrayOf(str),
  channel_id: str,
  ticker: str,
  sticky: bool,
  event_time: timestamp,
  local_only: bool,
  notification_priority: enumOf('AndroidNotification.NotificationPriority', [
    'PRIORITY_UNSPECIFIED',
    'PRIORITY_MIN',
    'PRIORITY_LOW',
    'PRIORITY_DEFAULT',
    'PRIORITY_HIGH',
    'PRIORITY_MAX',
  ]),
  default_sound: bool,
  default_vibrate_timings: bool,
  default_light_settings: bool,
  vibrate_timings: arrayOf(duration),
  visibility: enumOf('AndroidNotification.Visibility', ['VISIBILITY_UNSPECIFIED', 'PRIVATE', 'PUBLIC', 'SECRET']),
  notification_count: int32,
  light_settings: lightSettings,
  image: str,
  bypass_proxy_notification: bool,
  proxy: enumOf('AndroidNotification.Proxy', ['PROXY_UNSPECIFIED', 'ALLOW', 'DENY', 'IF_PRIORITY_LOWERED']),
});

const android = object({
  collapse_key: str,
  priority: enumOf('AndroidMessagePriority', ['NORMAL', 'HIGH']),
  ttl: duration,
  restricted_package_name: str,
  data: stringMap,
  notification: androidNotification,
  fcm_options: fcmOptions,
  direct_boot_ok: bool,
  bandwidth_constrained_ok: bool,
  restricted_satellite_ok: bool,
});

/** The payload is a Struct sent to APNs as is; only `aps` has to be a dictionary. */
const apnsPayload: Check = (value, path) => {
  const problem = struct(value, path);
  if (problem !== undefined) return problem;
  const aps = pick(value as Record<string, unknown>, 'aps');
  return aps === undefined || aps === null || isObject(aps) ? undefined : semanticError(`${path}.aps`, 'aps must be a dictionary');
};

const apns = object({
  headers: stringMap,
  payload: apnsPayload,
  fcm_options: object({ analytics_label: str, image: str }),
  live_activity_token: str,
});

const webpush = object({
  headers: stringMap,
  data: stringMap,
  notification: struct,
  fcm_options: object({ link: str, analytics_label: str }),
});

const message = object({
  name: str,
  data: stringMap,
  notification: object({ title: str, body: str, image: str }),
  android,
  webpush,
  apns,
  fcm_options: fcmOptions,
  token: str,
  topic: str,
  condition: str,
});

const checkBody = object({ message, validate_only: bool });

// ---- helpers --------------------------------------------------------------------------------------

function typeError(path: string, type: string, value: unknown): Violation {
  return shapeError(path, `Invalid value at '${path}' (${type}), ${show(value)}`);
}

function shapeError(field: string, description: string): Violation {
  return { field, description, semantic: false };
}

function semanticError(field: string, description: string): Violation {
  return { field, description, semantic: true };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field by its snake_case name, in whichever spelling the sender used. */
function pick(value: object, snakeName: string): unknown {
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, snakeName)) return record[snakeName];
  const camel = remembered(camelNames, snakeName, (name) => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
  return Object.hasOwn(record, camel) ? record[camel] : undefined;
}

function snakeCase(name: string): string {
  return remembered(snakeNames, name, (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

// Every request repeats the same few field names: converted once, not by a regex per field per request.
const camelNames = new Map<string, string>();
const snakeNames = new Map<string, string>();
/** Names come from clients, so the memory is bounded: past it, names are converted each time. */
const MAX_REMEMBERED = 1024;

function remembered(names: Map<string, string>, name: string, convert: (name: string) => string): string {
  let converted = names.get(name);
  if (converted === undefined) {
    converted = convert(name);
    if (names.size < MAX_REMEMBERED) names.set(name, converted);
  }
  return converted;
}
