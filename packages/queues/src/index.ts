export * from './catalogue.ts';
export { createQueues, type Queues, type EnqueueOptions } from './queues.ts';
