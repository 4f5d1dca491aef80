import { pino, type Logger } from 'pino';

/** Secrets never reach the logs, whatever object a caller logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.authorization',
  '*.vapid_private_key',
  '*.vapidPrivateKey',
  '*.adminToken',
  '*.password',
  // Provider credentials (issue 4): request bodies are never logged, these catch a careless log call.
  '*.apns_credentials',
  '*.fcm_credentials',
  '*.service_account',
  '*.private_key',
  '*.privateKey',
  '*.keyPem',
  '*.secretKey',
];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
