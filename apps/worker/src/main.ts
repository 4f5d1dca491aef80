import { onShutdown, startRuntime } from '@pushcast/runtime';
import { startWorker } from './worker.ts';

const runtime = await startRuntime('pushcast-worker');
const worker = await startWorker(runtime);
onShutdown(runtime.logger, async () => {
  await worker.close();
  await runtime.db.end();
});
