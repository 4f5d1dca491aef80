export { buildApp, type BuildAppOptions } from './app.ts';
export { startApi, type RunningApi } from './server.ts';
export { tokenFromHeader } from './auth.ts';
export { statusByKind } from './http-errors.ts';
export { type CheckedAnswer } from './openapi/contract.ts';
export { isUndocumented, openApiPath, OPENAPI_PATH, DOCS_PATH, UNDOCUMENTED } from './openapi/document.ts';
export { rateLimitKey } from './rate-limit.ts';
export { BEAMS_REQUESTS_PER_SECOND } from './routes/beams/index.ts';
