import { hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/** The outer block and digest of every call: `hash` has read it before the call returns. */
const OUTER = Buffer.alloc(BLOCK_BYTES + 32);
/** Views of one reused buffer for the inner block and message, by length (a Web Push message makes
 * six HMACs of five lengths, and two fresh buffers each made ~1.8 KB of garbage a message). */
const SCRATCH_BYTES = 1024;
const scratchMemory = Buffer.alloc(SCRATCH_BYTES);
const scratchViews = new Map<number, Buffer>();

function scratch(bytes: number): Buffer {
  if (bytes > SCRATCH_BYTES) return Buffer.allocUnsafe(bytes);
  let view = scratchViews.get(bytes);
  if (view === undefined) {
    if (scratchViews.size >= 64) scratchViews.clear();
    scratchViews.set(bytes, (view = scratchMemory.subarray(0, bytes)));
  }
  return view;
}

/**
 * HMAC-SHA-256 (RFC 2104) over two `crypto.hash` one-shots. `createHmac` makes a native object per
 * call, freed only by a weak callback that the next scavenge runs on the main thread: five of them
 * per Web Push message were most of what a scavenge spent on weak handles (docs/benchmarks.md),
 * and the open-tracking token made a sixth. A one-shot hash leaves nothing to finalise. Not
 * reentrant, and need not be: it is synchronous, and its scratch is read before it returns.
 */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  const k = key.length > BLOCK_BYTES ? hash('sha256', key, 'buffer') : key;
  const inner = scratch(BLOCK_BYTES + message.length);
  const outer = OUTER;
  for (let i = 0; i < BLOCK_BYTES; i += 1) {
    const byte = i < k.length ? k[i]! : 0;
    inner[i] = byte ^ IPAD;
    outer[i] = byte ^ OPAD;
  }
  inner.set(message, BLOCK_BYTES);
  hash('sha256', inner, 'buffer').copy(outer, BLOCK_BYTES);
  return hash('sha256', outer, 'buffer');
}
