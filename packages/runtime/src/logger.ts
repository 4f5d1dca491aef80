import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** Field names that hold a secret, wherever a caller puts them. */
const SECRET_FIELDS = [
  'token',
  'authorization',
  'vapid_private_key',
  'vapidPrivateKey',
  'adminToken',
  'password',
  // Provider credentials (issue 4): request bodies are never logged, these catch a careless log call.
  'apns_credentials',
  'fcm_credentials',
  'service_account',
  'private_key',
  'privateKey',
  'keyPem',
  'secretKey',
  'secretKeys',
];

/**
 * Secrets never reach the logs, whatever object a caller logs: at the top of a record
 * (`log.info({ token })`) and one level down (`log.info({ project: { token } })`); pino's `*`
 * matches exactly one level, so both forms are listed.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** `auto` is for people at a terminal and for collectors alike: readable lines on a TTY only. */
export function resolveLogFormat(format: LogFormat, stdoutIsTty: boolean): 'json' | 'pretty' {
  if (format === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return format;
}

export interface LoggerOptions {
  readonly format?: LogFormat;
  /** Where the lines go (stdout by default); with `auto`, a destination other than stdout gets JSON. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(level: string, name: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination;
  const stdoutIsTty = destination === undefined && process.stdout.isTTY === true;
  const format = resolveLogFormat(options.format ?? 'json', stdoutIsTty);
  const settings = { level, name, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (format === 'json') {
    return destination ? pino(settings, destination as DestinationStream) : pino(settings);
  }
  // In the process, not a transport's worker thread: nothing to lose at exit, and a crash still
  // prints its last lines. Redaction happens before the pretty printer sees a record.
  const pretty = pinoPretty({
    colorize: destination === undefined && stdoutIsTty,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(destination ? { destination } : {}),
  });
  return pino(settings, pretty);
}
