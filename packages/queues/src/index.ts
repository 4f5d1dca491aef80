export * from './catalogue.ts';
export { createRedis } from './connection.ts';
export { createQueues, type Queues } from './queues.ts';
