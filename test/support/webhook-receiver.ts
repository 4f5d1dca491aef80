import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createLocalCertificate, type LocalCertificate } from '@pushcast/local-tls';
import { Webhook } from 'standardwebhooks';

/** A request as the receiver got it: the raw body and the headers, for verifying signatures. */
export interface ReceivedWebhook {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly status: number;
}

export interface WebhookReceiver {
  /** https://127.0.0.1:<port>/hook */
  readonly url: string;
  readonly caPem: string;
  readonly caFile: string;
  /** Every request received, in order. */
  readonly received: ReceivedWebhook[];
  /** The status the next requests get (default 204), after `delayMs` (default 0). */
  answer(status: number, delayMs?: number): void;
  /** Stops listening (connections refused) until `start()`, on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The payloads whose signature `secret` verifies (Standard Webhooks' own library: headers, tolerance, signature). */
  verified(secret: string): { id: string; payload: any }[];
  close(): Promise<void>;
}

/** Verifies one request with `secret`; the parsed body, or null when the signature does not hold. */
export function verifyWebhook(secret: string, r: ReceivedWebhook): any {
  try {
    return new Webhook(secret).verify(r.body, r.headers);
  } catch {
    return null;
  }
}

/**
 * Verifies a Pusher Beams webhook request as Beams documents it: `Webhook-Signature` is the hex
 * HMAC-SHA1 of the raw body keyed by the secret. The parsed body, or null when it does not hold.
 */
export function verifyBeamsWebhook(secret: string, r: ReceivedWebhook): any {
  const expected = createHmac('sha1', secret).update(r.body).digest();
  const given = Buffer.from(r.headers['webhook-signature'] ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return JSON.parse(r.body);
}

/** A real HTTPS webhook receiver on loopback, with a self-signed certificate the worker trusts explicitly. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const cert: LocalCertificate = await createLocalCertificate('webhooks');
  const received: ReceivedWebhook[] = [];
  let status = 204;
  let delay = 0;
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          const answered = status;
          setTimeout(() => {
            received.push({ headers, body: Buffer.concat(chunks).toString('utf8'), status: answered });
            res.writeHead(answered).end();
          }, delay);
        });
      });
      s.on('connection', (c: Socket) => {
        sockets.add(c);
        c.on('close', () => sockets.delete(c));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    for (const c of sockets) c.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `https://127.0.0.1:${port}/hook`,
    caPem: cert.certPem,
    caFile: cert.caFile,
    received,
    answer: (s, delayMs = 0) => {
      status = s;
      delay = delayMs;
    },
    stop,
    start: listen,
    verified: (secret) =>
      received.flatMap((r) => {
        const payload = verifyWebhook(secret, r);
        return payload === null ? [] : [{ id: r.headers['webhook-id']!, payload }];
      }),
    async close() {
      await stop();
      await cert.remove();
    },
  };
}
