import { startApi } from '@pushcast/api';
import { newAccessTokenSecret } from '@pushcast/domain';
import { onShutdown, startRuntime } from '@pushcast/runtime';
import { insertFirstAdminToken } from '@pushcast/store';
import { startWorker } from '@pushcast/worker';

/** API and worker in one process: the quickest way to run Pushcast on one machine. */
const runtime = await startRuntime('pushcast');
const worker = await startWorker(runtime);
const api = await startApi(runtime);
process.stdout.write(`Pushcast is running: API at ${api.url}/api/v1\n`);
if (runtime.config.secretKeys.current === undefined) {
  // Secrets are stored sealed or not at all: say so before the first sender is refused.
  process.stdout.write(
    'No PUSHCAST_SECRET_KEY: senders, provider credentials, webhooks and secret keys cannot be created (409).\n' +
      'Set one and keep it: export PUSHCAST_SECRET_KEY=$(openssl rand -base64 32)\n',
  );
}

if (!runtime.config.adminToken) {
  // First start without PUSHCAST_ADMIN_TOKEN: mint one admin token so that a new user can call the
  // API at once. Printed to the terminal once, never to the logs; later starts find it and say so.
  const secret = newAccessTokenSecret();
  const minted = await insertFirstAdminToken(runtime.db, { ...secret, name: 'first-start admin' });
  process.stdout.write(
    minted
      ? `First start: an admin token was created. It is shown only this once:\n  ${secret.token}\n` +
          `Try: curl -H "Authorization: Bearer ${secret.token}" ${api.url}/api/v1/projects\n`
      : 'Admin tokens exist already (`npx pushcast token list`); mint more with `npx pushcast token create --admin`.\n',
  );
}

onShutdown(runtime.logger, async () => {
  await api.close();
  await worker.close();
  await runtime.db.end();
});
