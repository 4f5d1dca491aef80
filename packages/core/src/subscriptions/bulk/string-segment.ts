/**
 * The most characters the import and the export put in one string they build from many rows (text
 * decoded, COPY text, an export's piece). A V8 string over 128 KiB is a large object, and making
 * one costs ~30× more per byte than a smaller one (decoding NDJSON: 2 µs a row against 65 ns;
 * rendering an export page and writing it: 3.1 against 1.4 µs a row; docs/benchmarks.md). 48 Ki
 * characters stay under it even as a two-byte string (one character past U+00FF makes one).
 */
export const STRING_SEGMENT = 48 * 1024;
