export { startRuntime, onShutdown, type Runtime } from './runtime.ts';
export { createLogger, REDACTED_PATHS } from './logger.ts';
