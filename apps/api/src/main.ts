import { onShutdown, startRuntime } from '@pushcast/runtime';
import { startApi } from './server.ts';

const runtime = await startRuntime('pushcast-api');
const api = await startApi(runtime);
runtime.logger.info({ url: api.url }, `Pushcast API listening on ${api.url}/api/v1`);
onShutdown(runtime.logger, async () => {
  await api.close();
  await runtime.db.end();
});
