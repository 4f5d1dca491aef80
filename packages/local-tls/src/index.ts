import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';

export interface LocalCertificate {
  readonly keyPem: string;
  readonly certPem: string;
  /** The certificate in a temp file, for NODE_EXTRA_CA_CERTS of child processes. */
  readonly caFile: string;
  /** Deletes the temp file. */
  remove(): Promise<void>;
}

/**
 * A self-signed P-256 leaf for 127.0.0.1 and localhost (plus `extraDnsNames`), which clients
 * trust explicitly (`ca`, NODE_EXTRA_CA_CERTS). Created in about 20 ms, so every server makes its own.
 */
export async function createLocalCertificate(label: string, extraDnsNames: readonly string[] = []): Promise<LocalCertificate> {
  // A subject of its own: OpenSSL finds a self-signed certificate in its trust store by subject, so
  // two servers whose certificates shared one (all "CN=localhost") could not both be trusted from
  // one NODE_EXTRA_CA_CERTS file. Host names are checked against the subjectAltName below.
  const subject = `pushcast-local-${label}-${randomBytes(6).toString('hex')}`;
  const pems = await generate([{ name: 'commonName', value: subject }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // Backdated so a client whose clock is a little behind does not see a not-yet-valid certificate.
    notBeforeDate: new Date(Date.now() - 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          ...extraDnsNames.map((value) => ({ type: 2 as const, value })),
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), `pushcast-local-${label}-`));
  const caFile = join(dir, 'ca.pem');
  // Ending in a newline, so that certificates concatenated into one CA file stay apart.
  const certPem = pems.cert.endsWith('\n') ? pems.cert : `${pems.cert}\n`;
  await writeFile(caFile, certPem);
  return {
    keyPem: pems.private,
    certPem,
    caFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
