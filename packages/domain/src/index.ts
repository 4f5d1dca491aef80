export * from './result.ts';
export * from './errors.ts';
export * from './model.ts';
export * from './push-endpoint.ts';
export * from './web-push-keys.ts';
export * from './vapid.ts';
export * from './access-token.ts';
export * from './tags/index.ts';
