import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
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
  await writeFile(caFile, pems.cert);
  return {
    keyPem: pems.private,
    certPem: pems.cert,
    caFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
