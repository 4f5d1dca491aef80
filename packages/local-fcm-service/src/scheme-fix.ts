/**
 * firebase-admin 13 sends its HTTP/2 requests with the pseudo-header `:scheme: "https:"` (it copies
 * `url.parse(...).protocol`, colon included). Google's front end shrugs; nghttp2 inside Node's HTTP/2
 * server checks `:scheme` against RFC 3986 and resets the stream with PROTOCOL_ERROR before any
 * JavaScript runs, and no server option turns that check off (Node does not expose nghttp2's
 * `no_http_messaging`). So the client's bytes are filtered before nghttp2 sees them: this walks the
 * HTTP/2 frames, and in HEADERS/CONTINUATION header blocks rewrites a `:scheme` literal of `https:`
 * (or `http:`) to `https` (`http`). Everything else passes through byte for byte.
 *
 * HPACK is stateful, but the rewrite stays in step with the client's encoder: the value is only ever
 * shortened, so the server's dynamic table accounts each rewritten entry as 1 byte smaller than the
 * client does. It therefore evicts no earlier than the client, every index the client emits still
 * names the same entry, and an indexed reference to the stored entry yields the fixed value.
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const PREFACE_LENGTH = PREFACE.length;
const FRAME_HEADER_LENGTH = 9;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** The server never raises SETTINGS_MAX_FRAME_SIZE above the protocol default. */
const MAX_FRAME_SIZE = 16_384;
/** HPACK static table: 6 is `:scheme: http`, 7 is `:scheme: https`. */
const STATIC_SCHEME_INDEXES = new Set([6, 7]);

/** RFC 7541 Appendix B codes, only for the characters of the strings matched below. */
const HUFFMAN_CODES: Readonly<Record<string, readonly [code: number, bits: number]>> = {
  ':': [0x5c, 7],
  c: [0x4, 5],
  e: [0x5, 5],
  h: [0x27, 6],
  m: [0x29, 6],
  p: [0x2b, 6],
  s: [0x8, 5],
  t: [0x9, 5],
};

interface Literal {
  raw: Buffer;
  huffman: Buffer;
}

const SCHEME_NAME = literal(':scheme');
/** What a broken value looks like, and the bytes (length prefix included) that replace its string. */
const SCHEME_FIXES: ReadonlyArray<{ broken: Literal; replacement: Buffer }> = [
  { broken: literal('https:'), replacement: Buffer.from([5, ...Buffer.from('https', 'latin1')]) },
  { broken: literal('http:'), replacement: Buffer.from([4, ...Buffer.from('http', 'latin1')]) },
];

/** Bytes from the client in, bytes for the HTTP/2 session out (none while a frame is incomplete). */
export type SchemeFixer = (chunk: Buffer) => Buffer[];

interface HeldBlock {
  streamId: number;
  flags: number;
  priority: Buffer | undefined;
  fragments: Buffer[];
  /** The frames as received, replayed untouched if the sequence turns out to be malformed. */
  frames: Buffer[];
}

/** One per connection: it carries frame-boundary and CONTINUATION state across chunks. */
export function createSchemeFixer(onFix: (count: number) => void = noop): SchemeFixer {
  let prefaceLeft = PREFACE_LENGTH;
  let carry: Buffer | undefined;
  let held: HeldBlock | undefined;
  // Once framing looks wrong, stop interpreting and let nghttp2 produce the protocol error.
  let passthrough = false;

  const onHeadersFrame = (frame: Buffer): Buffer[] | undefined => {
    const flags = frame[4] ?? 0;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    const fragment = headerBlockFragment(frame);
    if (fragment === undefined) return undefined;
    const priorityAt = FRAME_HEADER_LENGTH + ((flags & FLAG_PADDED) !== 0 ? 1 : 0);
    const priority = (flags & FLAG_PRIORITY) !== 0 ? frame.subarray(priorityAt, priorityAt + 5) : undefined;
    if ((flags & FLAG_END_HEADERS) === 0) {
      held = { streamId, flags, priority, fragments: [fragment], frames: [frame] };
      return [];
    }
    const fixed = fixHeaderBlock(fragment);
    if (fixed === undefined) return undefined;
    onFix(fixed.fixes);
    return headerFrames(streamId, flags, priority, fixed.block);
  };

  const onContinuationFrame = (frame: Buffer, block: HeldBlock): Buffer[] => {
    block.frames.push(frame);
    block.fragments.push(frame.subarray(FRAME_HEADER_LENGTH));
    if (((frame[4] ?? 0) & FLAG_END_HEADERS) === 0) return [];
    held = undefined;
    const whole = Buffer.concat(block.fragments);
    const fixed = fixHeaderBlock(whole);
    if (fixed === undefined) return block.frames;
    onFix(fixed.fixes);
    return headerFrames(block.streamId, block.flags, block.priority, fixed.block);
  };

  const push = (chunk: Buffer): Buffer[] => {
    if (passthrough) return [chunk];
    const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    const out: Buffer[] = [];
    let pos = 0;
    if (prefaceLeft > 0) {
      pos = Math.min(prefaceLeft, data.length);
      prefaceLeft -= pos;
    }
    // Bytes before `emitted` are already in `out`; runs of untouched frames go out as one slice.
    let emitted = 0;
    while (data.length - pos >= FRAME_HEADER_LENGTH) {
      const length = data.readUIntBE(pos, 3);
      const type = data[pos + 3];
      const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
      if (length > MAX_FRAME_SIZE) {
        if (held !== undefined) {
          out.push(...held.frames);
          held = undefined;
        }
        passthrough = true;
        out.push(data.subarray(emitted));
        return out;
      }
      const end = pos + FRAME_HEADER_LENGTH + length;
      if (end > data.length) break;
      const frame = data.subarray(pos, end);
      let replacement: Buffer[] | undefined;
      if (held !== undefined) {
        if (type === TYPE_CONTINUATION && streamId === held.streamId) {
          replacement = onContinuationFrame(frame, held);
        } else {
          // RFC 9113 §6.10 forbids anything between HEADERS and its CONTINUATIONs: replay, let nghttp2 object.
          replacement = [...held.frames, frame];
          held = undefined;
        }
      } else if (type === TYPE_HEADERS) {
        replacement = onHeadersFrame(frame);
      }
      if (replacement !== undefined) {
        if (pos > emitted) out.push(data.subarray(emitted, pos));
        out.push(...replacement);
        emitted = end;
      }
      pos = end;
    }
    if (pos > emitted) out.push(data.subarray(emitted, pos));
    // A copy, so a small remainder does not pin a large chunk.
    if (pos < data.length) carry = Buffer.from(data.subarray(pos));
    return out;
  };

  return push;
}

/**
 * Whether a connection needs the filter, judged by the first bytes its client sent: true when its
 * first request's `:scheme` must be rewritten (or the bytes are not what an HTTP/2 client sends:
 * the filter, as before, leaves those to nghttp2), false when that request's header block is fine
 * as it is, undefined while the preface or a frame is still incomplete. Nothing waits for bytes a
 * client may never send: bytes that end on a frame boundary without a request mean true at once.
 *
 * A client that sends a valid `:scheme` first is taken to send it always (an encoder emits one
 * value per connection); its bytes then go to nghttp2 directly, without the JS stream in between.
 */
export function needsSchemeFilter(bytes: Buffer): boolean | undefined {
  if (bytes.length < PREFACE_LENGTH) return PREFACE.subarray(0, bytes.length).equals(bytes) ? undefined : true;
  if (!bytes.subarray(0, PREFACE_LENGTH).equals(PREFACE)) return true;
  let pos = PREFACE_LENGTH;
  while (bytes.length - pos >= FRAME_HEADER_LENGTH) {
    const length = bytes.readUIntBE(pos, 3);
    if (length > MAX_FRAME_SIZE) return true;
    const end = pos + FRAME_HEADER_LENGTH + length;
    if (end > bytes.length) return undefined;
    if (bytes[pos + 3] === TYPE_HEADERS) {
      const fragment = headerBlockFragment(bytes.subarray(pos, end));
      // A block continued in CONTINUATION frames is left to the filter, which reassembles it.
      if (fragment === undefined || ((bytes[pos + 4] ?? 0) & FLAG_END_HEADERS) === 0) return true;
      return fixHeaderBlock(fragment) !== undefined;
    }
    pos = end;
  }
  return pos === bytes.length ? true : undefined;
}

/** The header block with its broken `:scheme` values replaced, or undefined if nothing changed or it does not parse. */
export function fixHeaderBlock(block: Buffer): { block: Buffer; fixes: number } | undefined {
  const pieces: Buffer[] = [];
  let copiedUpTo = 0;
  let fixes = 0;
  let pos = 0;
  while (pos < block.length) {
    const first = block[pos] ?? 0;
    if ((first & 0x80) !== 0) {
      // Indexed header field: nothing literal to fix.
      const index = readInteger(block, pos, 7);
      if (index === undefined) return undefined;
      pos = index.next;
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      const size = readInteger(block, pos, 5);
      if (size === undefined) return undefined;
      pos = size.next;
      continue;
    }
    // Literal: with incremental indexing (01), or without / never indexed (0000 / 0001).
    const nameIndex = readInteger(block, pos, (first & 0x40) !== 0 ? 6 : 4);
    if (nameIndex === undefined) return undefined;
    pos = nameIndex.next;
    let isScheme = STATIC_SCHEME_INDEXES.has(nameIndex.value);
    if (nameIndex.value === 0) {
      const name = readString(block, pos);
      if (name === undefined) return undefined;
      isScheme = matches(name, SCHEME_NAME);
      pos = name.next;
    }
    const value = readString(block, pos);
    if (value === undefined) return undefined;
    if (isScheme) {
      const fix = SCHEME_FIXES.find((candidate) => matches(value, candidate.broken));
      if (fix !== undefined) {
        pieces.push(block.subarray(copiedUpTo, pos), fix.replacement);
        copiedUpTo = value.next;
        fixes++;
      }
    }
    pos = value.next;
  }
  if (fixes === 0) return undefined;
  pieces.push(block.subarray(copiedUpTo));
  return { block: Buffer.concat(pieces), fixes };
}

/** A HEADERS frame's header block fragment, without padding and priority; undefined if the padding does not fit. */
function headerBlockFragment(frame: Buffer): Buffer | undefined {
  const flags = frame[4] ?? 0;
  const payload = frame.subarray(FRAME_HEADER_LENGTH);
  let offset = 0;
  let padding = 0;
  if ((flags & FLAG_PADDED) !== 0) {
    padding = payload[0] ?? 0;
    offset = 1;
  }
  if ((flags & FLAG_PRIORITY) !== 0) offset += 5;
  if (offset + padding > payload.length) return undefined;
  return payload.subarray(offset, payload.length - padding);
}

/** HEADERS (+ CONTINUATION) frames for a header block; padding is dropped, END_STREAM and priority kept. */
function headerFrames(streamId: number, flags: number, priority: Buffer | undefined, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  const prefix = priority ?? Buffer.alloc(0);
  const firstRoom = MAX_FRAME_SIZE - prefix.length;
  let pos = Math.min(firstRoom, block.length);
  const headersFlags = (flags & ~(FLAG_PADDED | FLAG_END_HEADERS)) | (pos === block.length ? FLAG_END_HEADERS : 0);
  frames.push(frameHeader(prefix.length + pos, TYPE_HEADERS, headersFlags, streamId), prefix, block.subarray(0, pos));
  while (pos < block.length) {
    const end = Math.min(pos + MAX_FRAME_SIZE, block.length);
    const last = end === block.length;
    frames.push(frameHeader(end - pos, TYPE_CONTINUATION, last ? FLAG_END_HEADERS : 0, streamId), block.subarray(pos, end));
    pos = end;
  }
  return frames;
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_LENGTH);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return header;
}

/** RFC 7541 §5.1. */
function readInteger(buf: Buffer, pos: number, prefixBits: number): { value: number; next: number } | undefined {
  const first = buf[pos];
  if (first === undefined) return undefined;
  const max = (1 << prefixBits) - 1;
  let value = first & max;
  let next = pos + 1;
  if (value < max) return { value, next };
  for (let shift = 0; shift <= 28; shift += 7) {
    const byte = buf[next++];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next };
  }
  return undefined;
}

/** RFC 7541 §5.2: the string's bytes as sent (Huffman-coded or not) and where the next field starts. */
function readString(buf: Buffer, pos: number): { huffman: boolean; bytes: Buffer; next: number } | undefined {
  const first = buf[pos];
  if (first === undefined) return undefined;
  const length = readInteger(buf, pos, 7);
  if (length === undefined || length.next + length.value > buf.length) return undefined;
  return {
    huffman: (first & 0x80) !== 0,
    bytes: buf.subarray(length.next, length.next + length.value),
    next: length.next + length.value,
  };
}

/**
 * Compares without decoding: encoders emit the canonical Huffman form (shortest code, EOS-bit
 * padding), so equal strings have equal bytes.
 */
function matches(value: { huffman: boolean; bytes: Buffer }, expected: Literal): boolean {
  return value.bytes.equals(value.huffman ? expected.huffman : expected.raw);
}

function literal(text: string): Literal {
  return { raw: Buffer.from(text, 'latin1'), huffman: huffmanEncode(text) };
}

function huffmanEncode(text: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const char of text) {
    const entry = HUFFMAN_CODES[char];
    if (entry === undefined) throw new Error(`no Huffman code listed for ${JSON.stringify(char)}`);
    acc = (acc << entry[1]) | entry[0];
    bits += entry[1];
    while (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(bytes);
}

function noop(): void {}
