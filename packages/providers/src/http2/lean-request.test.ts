import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leanRequest } from './lean-request.ts';

const execFileAsync = promisify(execFile);

let server: http2.Http2Server;
let origin: string;
beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.resume();
    stream.on('end', () => stream.respond({ ':status': 200, 'x-path': String(headers[':path']) }, { endStream: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const nodeBind = AsyncResource.prototype.bind;

describe('leanRequest', () => {
  it('sends a request whose answer reaches listeners in the async context it was made in', async () => {
    const session = http2.connect(origin);
    const context = new AsyncLocalStorage<string>();
    try {
      const seen = await context.run('request 1', () => {
        const stream = leanRequest(session, { ':method': 'POST', ':path': '/one' });
        stream.end('body');
        return new Promise<{ status: unknown; path: unknown; store: string | undefined }>((resolve, reject) => {
          stream.on('response', (headers) => resolve({ status: headers[':status'], path: headers['x-path'], store: context.getStore() }));
          stream.on('error', reject);
        });
      });
      expect(seen).toEqual({ status: 200, path: '/one', store: 'request 1' });
      expect(AsyncResource.prototype.bind).toBe(nodeBind);
    } finally {
      session.close();
    }
  });

  it("gives Node's own bind back when Node refuses the request", () => {
    const session = http2.connect(origin);
    try {
      expect(() => leanRequest(session, { ':method': 'POST', ':bogus': 'x' })).toThrow(expect.objectContaining({ code: 'ERR_HTTP2_INVALID_PSEUDOHEADER' }));
      expect(AsyncResource.prototype.bind).toBe(nodeBind);
    } finally {
      session.close();
    }
  });

  it('sets no deprecated priority option on a Node that warns about them (DEP0194, Node 22 and later)', async () => {
    // Node warns once per process, so a fresh one: the first request made in this one may be another file's.
    const script = `
      import http2 from 'node:http2';
      import { leanRequest } from ${JSON.stringify(new URL('./lean-request.ts', import.meta.url).href)};
      const session = http2.connect(${JSON.stringify(origin)});
      const stream = leanRequest(session, { ':method': 'POST', ':path': '/fresh' });
      stream.end();
      stream.on('response', (headers) => console.log(headers[':status']));
      stream.on('close', () => session.close());
    `;
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('200');
    expect(stderr).not.toContain('DEP0194');
  });
});
