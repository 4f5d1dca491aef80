import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { generateRsaKeyPair, type RsaKeyPairPem } from '@pushcast/local-fcm-service';

// RSA-2048 key generation took ~13 s of CPU per pass of the suite (~90 service accounts at
// 50-300 ms each), on a CI run bound by CPU. Keys are kept on disk and reused across processes:
// within one process every call still gets a key of its own (the n-th call the n-th key), so a
// test that tells accounts apart by their keys still can; only separate processes, which trust
// separate local servers, share them.
const POOL_SIZE = 32;
const dir = join(tmpdir(), `pushcast-test-rsa-keys-${userInfo().uid}`);
let next = 0;

/** An RSA-2048 key pair for a test service account: distinct from every other this process got. */
export function testRsaKeyPair(): RsaKeyPairPem {
  const index = next++;
  if (index >= POOL_SIZE) return generateRsaKeyPair();
  const file = join(dir, `${index}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RsaKeyPairPem;
  } catch {
    const pair = generateRsaKeyPair();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written whole under another name first: a process reading it concurrently sees all or nothing.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(pair), { mode: 0o600 });
    renameSync(partial, file);
    return pair;
  }
}
