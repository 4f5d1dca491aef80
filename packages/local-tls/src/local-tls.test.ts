import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalCertificate, type LocalCertificate } from './index.ts';

const run = promisify(execFile);
const servers: Server[] = [];
const certificates: LocalCertificate[] = [];
afterAll(async () => {
  for (const s of servers) s.close();
  for (const c of certificates) await c.remove();
});

async function serve(label: string): Promise<{ port: number; cert: LocalCertificate }> {
  const cert = await createLocalCertificate(label);
  certificates.push(cert);
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (_req, res) => res.end(label));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, cert };
}

describe('local certificates', () => {
  it('several are trusted at once from one NODE_EXTRA_CA_CERTS file (as a worker talking to local APNs and FCM needs)', async () => {
    const a = await serve('apns');
    const b = await serve('fcm');
    const bundle = join(a.cert.caFile, '..', 'bundle.pem');
    await writeFile(bundle, a.cert.certPem + b.cert.certPem);
    const script = `
      const get = (port) => fetch('https://127.0.0.1:' + port).then((r) => r.text());
      Promise.all([get(${a.port}), get(${b.port})]).then((t) => console.log(t.join(',')), (e) => { console.error(String(e.cause ?? e)); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle } });
    expect(stdout.trim()).toBe('apns,fcm');
  });
});
