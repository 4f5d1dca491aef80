// Entry point of a validation thread: the sources are TypeScript, run through tsx as in the main
// thread (a worker thread does not inherit the main thread's module hooks, so it registers its own).
import { register } from 'tsx/esm/api';

register();
await import('./validation-thread.ts');
