import { setTimeout as sleep } from 'node:timers/promises';
import { onShutdown, startRuntime } from '@pushcast/runtime';
import { startApi } from './server.ts';

const runtime = await startRuntime('pushcast-api');
const api = await startApi(runtime);
runtime.logger.info({ url: api.url }, `Pushcast API listening on ${api.url}/api/v1`);
onShutdown(runtime.logger, async () => {
  // Fastify stops accepting at once (requests on kept-alive connections get 503) and waits for
  // the requests in flight; past the grace period the process ends anyway.
  await Promise.race([api.close(), sleep(runtime.config.shutdownGraceMs)]);
  await runtime.db.end();
});
