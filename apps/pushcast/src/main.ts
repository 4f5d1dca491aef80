import { startApi } from '@pushcast/api';
import { onShutdown, startRuntime } from '@pushcast/runtime';
import { startWorker } from '@pushcast/worker';

/** API and worker in one process: the quickest way to run Pushcast on one machine. */
const runtime = await startRuntime('pushcast');
const worker = await startWorker(runtime);
const api = await startApi(runtime);
process.stdout.write(`Pushcast is running: API at ${api.url}/api/v1\n`);
if (!runtime.config.adminToken) {
  process.stdout.write('No PUSHCAST_ADMIN_TOKEN is set: mint an admin token with `npx pushcast token create --admin`.\n');
}
onShutdown(runtime.logger, async () => {
  await api.close();
  await worker.close();
  await runtime.db.end();
});
