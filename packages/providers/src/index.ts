export * from './webpush/index.ts';
