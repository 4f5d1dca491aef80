import type { ApnsHeadersOverride, ApnsOverride, ExactApnsPayload } from '@pushcast/domain';
import type { DeviceSource } from '../device-source.ts';

/** Apple: 4 KB for a regular push (VoIP's 5 KB does not apply to alert and background pushes). */
export const MAX_APNS_PAYLOAD_BYTES = 4096;

export type ApnsSource = DeviceSource<ApnsOverride>;

export interface ApnsMessage {
  /** The JSON body, as sent. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly pushType: 'alert' | 'background';
  readonly priority: 1 | 5 | 10;
  /** Epoch seconds after which Apple stops trying; 0 = once, now or never. */
  readonly expiration: number;
  readonly collapseId: string | undefined;
}

/**
 * Maps a notification to an APNs request: title/body → `aps.alert`; silent → a background push
 * (`content-available`, priority 5, as Apple requires); urgent → priority 10, else 5; an image →
 * `mutable-content` so that a notification service extension can fetch it; the rest (id, URLs,
 * actions, custom data) as custom keys. The override is merged last: its `aps` and custom keys
 * deeply, its `headers` over the mapped headers.
 */
export function apnsMessage(n: ApnsSource, nowMs: number): ApnsMessage {
  const aps: Record<string, unknown> = n.silent
    ? { 'content-available': 1 }
    : { alert: compact({ title: n.title, body: n.body }), sound: 'default', ...(n.imageUrl ? { 'mutable-content': 1 } : {}) };
  const base: Record<string, unknown> = compact({
    aps,
    id: n.id,
    target_url: n.targetUrl,
    icon: n.iconUrl,
    image: n.imageUrl,
    custom_data: n.customData,
  });
  if (n.actions.length > 0) {
    base.actions = n.actions.map((a) => compact({ title: a.title, action: a.action, target_url: a.targetUrl, icon: a.icon }));
  }
  const { headers, ...payloadOverride } = n.override ?? {};
  const payload = deepMerge(base, payloadOverride);

  const pushType = headers?.['apns-push-type'] ?? (n.silent ? 'background' : 'alert');
  const mapped: Required<Omit<ApnsHeadersOverride, 'apns-collapse-id'>> & { 'apns-collapse-id'?: string } = {
    'apns-push-type': pushType,
    'apns-priority': pushType === 'background' ? 5 : n.urgent ? 10 : 5,
    'apns-expiration': n.ttl === 0 ? 0 : Math.floor(nowMs / 1000) + n.ttl,
    ...(n.topic ? { 'apns-collapse-id': n.topic } : {}),
  };
  const merged = { ...mapped, ...headers };
  return {
    payload,
    pushType: merged['apns-push-type'],
    priority: merged['apns-priority'],
    expiration: merged['apns-expiration'],
    collapseId: merged['apns-collapse-id'],
  };
}

/** An exact payload (e.g. a Beams `apns` section) as its request: the body as given, its own headers. */
export function exactApnsMessage(exact: ExactApnsPayload, ttlLeft: number, nowMs: number): ApnsMessage {
  return {
    payload: exact.payload,
    pushType: exact.pushType,
    priority: exact.priority,
    expiration: exact.ttl === 0 ? 0 : Math.floor(nowMs / 1000) + ttlLeft,
    collapseId: exact.collapseId,
  };
}

export function apnsPayloadBytes(m: Pick<ApnsMessage, 'payload'>): number {
  return Buffer.byteLength(JSON.stringify(m.payload), 'utf8');
}

/** Objects merge key by key; anything else (arrays included) is replaced; null removes the key. */
export function deepMerge(base: Readonly<Record<string, unknown>>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = deepMerge(out[key], value);
    else out[key] = value;
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops null and undefined values, so that payloads carry only what is set. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}
