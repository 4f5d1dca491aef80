export { loadConfig, redactConfig, ConfigError, configSchema, type Config } from './config.ts';
