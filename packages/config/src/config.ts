import { secretKeyring, type SecretKeyring } from '@pushcast/domain';
import { z } from 'zod';

/**
 * Every setting Pushcast reads, with its default declared here and nowhere else.
 * Names are fixed: docker-compose.yml, infra/ and docs/configuration.md mirror them.
 */
const hostEntry = z
  .string()
  .regex(/^(\*\.)?[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$/, 'must be host or host:port');

/** 32 bytes as 64 hex digits or base64, or null when it is neither. */
function secretKeyBytes(v: string): Buffer | null {
  const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (bytes.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(v) && bytes.toString('base64').replace(/=+$/, '') !== v.replace(/=+$/, ''))) {
    return null;
  }
  return bytes;
}

/** 32 bytes, as 64 hex digits or base64: the AES-256-GCM key that seals secrets at rest. */
const secretKey = z.string().transform((v, ctx) => {
  const bytes = secretKeyBytes(v);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)' });
    return z.NEVER;
  }
  return bytes;
});

/** Former secret keys, comma-separated, each like PUSHCAST_SECRET_KEY: they open, never seal. */
const previousSecretKeys = z.string().transform((v, ctx) => {
  const keys: Buffer[] = [];
  for (const [i, entry] of v.split(',').map((e) => e.trim()).entries()) {
    if (entry === '') continue;
    const bytes = secretKeyBytes(entry);
    if (bytes === null) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be 32 bytes as 64 hex digits or base64 (comma-separated keys)` });
      return z.NEVER;
    }
    keys.push(bytes);
  }
  return keys;
});

/** Where a provider's fixed host is replaced by a local server (tests, the demo, the benchmark). */
const localOverrideUrl = z
  .string()
  .regex(/^https:\/\/[^/\s]+\/?$/, 'must be an https://host:port origin');

const boolFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Which proxies' X-Forwarded-For to believe for the client's address (Fastify's `trustProxy`):
 * `true`/`false`, a number of hops, or comma-separated addresses and CIDR ranges.
 */
const trustProxy = z.string().transform((v, ctx): boolean | number | string[] => {
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d{1,2}$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length > 0 && entries.every((e) => /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(e))) return entries;
  ctx.addIssue({ code: 'custom', message: 'must be true, false, a number of hops, or comma-separated addresses/CIDRs' });
  return z.NEVER;
});

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/pushcast'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  PUSHCAST_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  PUSHCAST_ALLOWED_PUSH_HOSTS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((h) => h.trim()).filter((h) => h.length > 0))
    .pipe(z.array(hostEntry)),
  PUSHCAST_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_{}\-]+$/).default('pushcast'),
  PUSHCAST_MIGRATE_ON_START: boolFlag.default(true),
  PUSHCAST_PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  PUSH_MAX_IN_FLIGHT_PER_ORIGIN: z.coerce.number().int().min(1).max(10_000).default(256),
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  PUSHCAST_SECRET_KEY: secretKey.optional(),
  PUSHCAST_SECRET_KEY_PREVIOUS: previousSecretKeys.optional(),
  PUSHCAST_APNS_URL: localOverrideUrl.optional(),
  PUSHCAST_FCM_URL: localOverrideUrl.optional(),
  APNS_MAX_IN_FLIGHT_PER_CREDENTIAL: z.coerce.number().int().min(1).max(10_000).default(1000),
  APNS_CONNECTIONS_PER_CREDENTIAL: z.coerce.number().int().min(1).max(16).default(4),
  FCM_MAX_IN_FLIGHT_PER_CREDENTIAL: z.coerce.number().int().min(1).max(10_000).default(100),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(6000),
  BROWSER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(300),
  PUSHCAST_TRUST_PROXY: trustProxy.default(false),
  PUSHCAST_DEFAULT_QUOTA_HOURLY: z.coerce.number().int().min(0).default(0),
  PUSHCAST_DEFAULT_QUOTA_DAILY: z.coerce.number().int().min(0).default(0),
  QUOTA_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  REDIS_CLUSTER: boolFlag.default(false),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  DELIVERY_RECORD_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
});

type Parsed = z.infer<typeof configSchema>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminToken: string | undefined;
  /** `host` or `host:port` entries (a leading `*.` matches subdomains) besides the public push services. */
  readonly allowedPushHosts: readonly string[];
  /**
   * Prefix of Pushcast's own Redis keys (@pushcast/redis-state: ledgers, live counters, quotas,
   * throttles, APNs provider tokens, credential breakers, rate limits; each with a hash tag of its
   * own). Same variable and value as BullMQ's prefix, so the key strings are those of every earlier
   * release (docs/architecture.md, "Redis state").
   */
  readonly redisStatePrefix: string;
  /** REDIS_URL is a seed node of a Redis Cluster. */
  readonly redisCluster: boolean;
  /**
   * Prefix of BullMQ's keys: on a cluster, the prefix in a hash tag (`{pushcast}`), because
   * BullMQ's scripts touch many keys of a queue at once and they must share a slot.
   */
  readonly bullPrefix: string;
  readonly migrateOnStart: boolean;
  readonly publicUrl: string | undefined;
  readonly logLevel: Parsed['LOG_LEVEL'];
  /** `auto`: readable lines on a terminal, JSON lines otherwise (a log collector). */
  readonly logFormat: Parsed['LOG_FORMAT'];
  readonly databasePoolSize: number;
  /** Chunk jobs a worker process runs at once. */
  readonly workerConcurrency: number;
  /** Requests a worker process keeps open to one push service origin. */
  readonly pushMaxInFlightPerOrigin: number;
  /** A job's lock; a crashed worker's job is taken over after about this long (BullMQ lockDuration and stalledInterval). */
  readonly workerLockMs: number;
  /**
   * AES-256-GCM keys for secrets at rest (provider credentials, VAPID private keys, the open-tracking
   * key): `current` (PUSHCAST_SECRET_KEY) seals, the previous ones (PUSHCAST_SECRET_KEY_PREVIOUS)
   * only open. Without a current key, no secret can be stored.
   */
  readonly secretKeys: SecretKeyring;
  /** Every APNs connection goes to this origin instead of Apple's hosts (a local APNs server). */
  readonly apnsUrl: string | undefined;
  /** FCM sends and Google's OAuth token requests go to this origin instead (a local FCM server). */
  readonly fcmUrl: string | undefined;
  /** APNs requests a worker process keeps in flight per credential, over its connections. */
  readonly apnsMaxInFlightPerCredential: number;
  /** HTTP/2 connections a worker process opens to APNs per credential; requests take them in turn. */
  readonly apnsConnectionsPerCredential: number;
  /** FCM requests a worker process keeps in flight per credential (streams of one HTTP/2 session each). */
  readonly fcmMaxInFlightPerCredential: number;
  /** Requests one access token may make per minute, counted in Redis across API processes; 0 = no limit. */
  readonly apiRateLimitPerMinute: number;
  /** Requests one client address may make per minute to the browser endpoints (no token); 0 = no limit. */
  readonly browserRateLimitPerMinute: number;
  /** Whose X-Forwarded-For gives the client's address (Fastify's `trustProxy`). */
  readonly trustProxy: boolean | number | readonly string[];
  /** Quotas of projects that set none (0 = unlimited). */
  readonly defaultQuota: { readonly hourly: number; readonly daily: number };
  /** How often a chunk deferred by a quota looks again (a raised quota is used within this long). */
  readonly quotaRecheckMs: number;
  /** Port of a worker's /metrics, /healthz and /readyz (0 = any free port). */
  readonly metricsPort: number;
  /**
   * On SIGTERM, how long running chunks may go on before they hand their unsent recipients back to
   * the queue, and the API drains requests; shorter than Kubernetes' terminationGracePeriodSeconds.
   */
  readonly shutdownGraceMs: number;
  /**
   * Days a notification's delivery records (failures, and deliveries where the project records them)
   * are kept, counted from the notification's day; older days' partitions are dropped.
   */
  readonly deliveryRecordRetentionDays: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
  }
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in docker-compose files that list every name.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  const c = parsed.data;
  if (c.PUSHCAST_SECRET_KEY_PREVIOUS !== undefined && c.PUSHCAST_SECRET_KEY_PREVIOUS.length > 0 && c.PUSHCAST_SECRET_KEY === undefined) {
    // Previous keys only open: a deployment holding them without a current key could read its
    // secrets but store none, and `pushcast rekey` would have nothing to seal under.
    throw new ConfigError([{ variable: 'PUSHCAST_SECRET_KEY_PREVIOUS', message: 'needs PUSHCAST_SECRET_KEY (the key that seals)' }]);
  }
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    adminToken: c.PUSHCAST_ADMIN_TOKEN,
    allowedPushHosts: Object.freeze([...c.PUSHCAST_ALLOWED_PUSH_HOSTS]),
    redisStatePrefix: c.PUSHCAST_QUEUE_PREFIX,
    redisCluster: c.REDIS_CLUSTER,
    bullPrefix: c.REDIS_CLUSTER && !/\{[^}]+\}/.test(c.PUSHCAST_QUEUE_PREFIX) ? `{${c.PUSHCAST_QUEUE_PREFIX}}` : c.PUSHCAST_QUEUE_PREFIX,
    migrateOnStart: c.PUSHCAST_MIGRATE_ON_START,
    publicUrl: c.PUSHCAST_PUBLIC_URL,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    workerConcurrency: c.WORKER_CONCURRENCY,
    pushMaxInFlightPerOrigin: c.PUSH_MAX_IN_FLIGHT_PER_ORIGIN,
    workerLockMs: c.WORKER_LOCK_MS,
    secretKeys: secretKeyring(c.PUSHCAST_SECRET_KEY, c.PUSHCAST_SECRET_KEY_PREVIOUS ?? []),
    apnsUrl: c.PUSHCAST_APNS_URL?.replace(/\/$/, ''),
    fcmUrl: c.PUSHCAST_FCM_URL?.replace(/\/$/, ''),
    apnsMaxInFlightPerCredential: c.APNS_MAX_IN_FLIGHT_PER_CREDENTIAL,
    apnsConnectionsPerCredential: c.APNS_CONNECTIONS_PER_CREDENTIAL,
    fcmMaxInFlightPerCredential: c.FCM_MAX_IN_FLIGHT_PER_CREDENTIAL,
    apiRateLimitPerMinute: c.API_RATE_LIMIT_PER_MINUTE,
    browserRateLimitPerMinute: c.BROWSER_RATE_LIMIT_PER_MINUTE,
    trustProxy: Array.isArray(c.PUSHCAST_TRUST_PROXY) ? Object.freeze([...c.PUSHCAST_TRUST_PROXY]) : c.PUSHCAST_TRUST_PROXY,
    defaultQuota: Object.freeze({ hourly: c.PUSHCAST_DEFAULT_QUOTA_HOURLY, daily: c.PUSHCAST_DEFAULT_QUOTA_DAILY }),
    quotaRecheckMs: c.QUOTA_RECHECK_MS,
    metricsPort: c.METRICS_PORT,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    deliveryRecordRetentionDays: c.DELIVERY_RECORD_RETENTION_DAYS,
  });
}

/** A copy safe to log: secrets and URL passwords hidden. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    adminToken: config.adminToken === undefined ? undefined : '[redacted]',
    secretKeys: config.secretKeys.byId.size === 0 ? undefined : '[redacted]',
    // Ids (16 hex digits of each key's SHA-256) reveal nothing of the keys and show which ones a process holds.
    secretKeyIds: { current: config.secretKeys.currentId, all: [...config.secretKeys.byId.keys()] },
    databaseUrl: redactUrl(config.databaseUrl),
    redisUrl: redactUrl(config.redisUrl),
  };
}

function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '[unparsable]';
  }
}
