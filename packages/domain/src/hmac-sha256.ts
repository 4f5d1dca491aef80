import { hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * HMAC-SHA-256 (RFC 2104) over two `crypto.hash` one-shots. `createHmac` makes a native object per
 * call, freed only by a weak callback that the next scavenge runs on the main thread: five of them
 * per Web Push message were most of what a scavenge spent on weak handles (docs/benchmarks.md),
 * and the open-tracking token made a sixth. A one-shot hash leaves nothing to finalise.
 */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  const k = key.length > BLOCK_BYTES ? hash('sha256', key, 'buffer') : key;
  const inner = Buffer.allocUnsafe(BLOCK_BYTES + message.length);
  const outer = Buffer.allocUnsafe(BLOCK_BYTES + 32);
  for (let i = 0; i < BLOCK_BYTES; i += 1) {
    const byte = i < k.length ? k[i]! : 0;
    inner[i] = byte ^ IPAD;
    outer[i] = byte ^ OPAD;
  }
  inner.set(message, BLOCK_BYTES);
  hash('sha256', inner, 'buffer').copy(outer, BLOCK_BYTES);
  return hash('sha256', outer, 'buffer');
}
