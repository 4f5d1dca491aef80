import ece from 'http_ece';
import { deriveAuthSecret, deriveEcdh } from './keys.ts';

const HEADER_FIXED_BYTES = 21; // salt(16) || rs(4) || idlen(1)
const P256_POINT_BYTES = 65;

/** Returns the plaintext, or throws with a reason a test can assert on. */
export function decryptPushBody(seed: string, id: string, body: Buffer): string {
  // http_ece is lenient where RFC 8291 is not; these are the mistakes a sender can make that it lets through.
  if (body.length < HEADER_FIXED_BYTES) throw new Error(`body of ${body.length} bytes is shorter than the aes128gcm header`);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  if (idlen !== P256_POINT_BYTES) throw new Error(`keyid is ${idlen} bytes, RFC 8291 wants the 65-byte sender public key`);
  if (rs < 18) throw new Error(`record size ${rs} is below the minimum of 18`);
  const ciphertextBytes = body.length - HEADER_FIXED_BYTES - idlen;
  if (ciphertextBytes > rs) throw new Error(`${ciphertextBytes} ciphertext bytes exceed rs ${rs}: RFC 8291 allows one record only`);
  return ece
    .decrypt(body, { version: 'aes128gcm', privateKey: deriveEcdh(seed, id), authSecret: deriveAuthSecret(seed, id) })
    .toString('utf8');
}
