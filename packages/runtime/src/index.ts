export { startRuntime, onShutdown, type Runtime } from './runtime.ts';
export { createLogger, resolveLogFormat, REDACTED_PATHS, type LogFormat, type LoggerOptions } from './logger.ts';
