/**
 * A strict parser of Prometheus' text exposition format (0.0.4), for tests: every line must be a
 * comment (`# HELP`, `# TYPE`, or any other `#` line), blank, or a well-formed sample; a family's
 * TYPE comes before its samples and its samples are contiguous; histograms carry their
 * `_bucket{le}`/`_sum`/`_count` series with cumulative buckets ending in `+Inf` = `_count`; no
 * series appears twice. Anything else throws, naming the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, MetricType>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, MetricType>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const seenSeries = new Set<string>();
  const finishedFamilies = new Set<string>();
  let currentFamily: string | undefined;
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = line.match(/^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/);
      if (!m) return; // another comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new Error(`${where}: bad metric name`);
      if (keyword === 'HELP') {
        if (help.has(name!)) throw new Error(`${where}: second HELP for ${name}`);
        help.set(name!, unescape(rest, where));
      } else {
        if (!TYPES.has(rest as MetricType)) throw new Error(`${where}: unknown type ${rest}`);
        if (types.has(name!)) throw new Error(`${where}: second TYPE for ${name}`);
        if (samples.some((s) => familyOf(s.name, types) === name)) throw new Error(`${where}: TYPE after samples of ${name}`);
        types.set(name!, rest as MetricType);
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, types);
    if (family !== currentFamily) {
      if (finishedFamilies.has(family)) throw new Error(`${where}: samples of ${family} are not contiguous`);
      if (currentFamily !== undefined) finishedFamilies.add(currentFamily);
      currentFamily = family;
    }
    const type = types.get(family);
    if (type === 'histogram') {
      const suffix = sample.name.slice(family.length);
      if (!['_bucket', '_sum', '_count'].includes(suffix)) throw new Error(`${where}: ${sample.name} is not a histogram series`);
      if (suffix === '_bucket' && sample.labels.le === undefined) throw new Error(`${where}: bucket without le`);
    } else if (type === 'counter' || type === 'gauge') {
      if (sample.name !== family) throw new Error(`${where}: ${sample.name} does not belong to ${type} ${family}`);
      if (type === 'counter' && !(sample.value >= 0)) throw new Error(`${where}: negative counter`);
    }
    const key = seriesKey(sample.name, sample.labels);
    if (seenSeries.has(key)) throw new Error(`${where}: series ${key} appears twice`);
    seenSeries.add(key);
    samples.push(sample);
  });
  checkHistograms(types, samples);
  return { types, help, samples };
}

function parseSample(line: string, where: string): Sample {
  const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?$/);
  if (!m) throw new Error(`${where}: not a sample`);
  const [, name, labelText, valueText] = m;
  return { name: name!, labels: labelText ? parseLabels(labelText, where) : {}, value: parseValue(valueText!, where) };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  const end = text.length - 1; // the '}'
  while (i < end) {
    const nameMatch = text.slice(i).match(/^([a-zA-Z_][a-zA-Z0-9_]*)="/);
    if (!nameMatch) throw new Error(`${where}: bad label at ${i}`);
    const name = nameMatch[1]!;
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${name}`);
    i += nameMatch[0].length;
    let value = '';
    for (;;) {
      if (i >= end) throw new Error(`${where}: unterminated label value`);
      const c = text[i]!;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape \\${next}`);
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    i += 1; // closing quote
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = value;
    if (text[i] === ',') i += 1;
    else if (i !== end) throw new Error(`${where}: expected , or } at ${i}`);
  }
  return labels;
}

/** Go's strconv.ParseFloat, as Prometheus reads values: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, where: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

function unescape(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\') return c;
    throw new Error(`${where}: bad escape \\${c}`);
  });
}

/** The family a sample belongs to: a histogram's or summary's series carry suffixes. */
function familyOf(name: string, types: ReadonlyMap<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return name;
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/** Buckets cumulative, `+Inf` present and equal to `_count`, for every label set of every histogram. */
function checkHistograms(types: ReadonlyMap<string, MetricType>, samples: readonly Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
    for (const s of samples) {
      if (familyOf(s.name, types) !== family) continue;
      const { le, ...rest } = s.labels;
      const key = seriesKey(family, rest);
      const group = groups.get(key) ?? { buckets: [] };
      groups.set(key, group);
      if (s.name === `${family}_bucket`) group.buckets.push([parseValue(le!, `bucket of ${key}`), s.value]);
      if (s.name === `${family}_count`) group.count = s.value;
    }
    for (const [key, group] of groups) {
      const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
      sorted.forEach(([, v], i) => {
        if (i > 0 && v < sorted[i - 1]![1]) throw new Error(`${key}: buckets are not cumulative`);
      });
      const last = sorted.at(-1);
      if (!last || last[0] !== Infinity) throw new Error(`${key}: no +Inf bucket`);
      if (group.count !== last[1]) throw new Error(`${key}: _count ${group.count} differs from the +Inf bucket ${last[1]}`);
    }
  }
}

/** The value of the one series with exactly these labels, or 0 when it is absent (a counter not yet incremented). */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const key = seriesKey(name, labels);
  const found = exposition.samples.find((s) => seriesKey(s.name, s.labels) === key);
  return found?.value ?? 0;
}

/** Every series of `name` whose labels include these. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Fetches and parses `url` (a /metrics endpoint), checking Prometheus' content type. */
export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain') || !type.includes('version=0.0.4')) throw new Error(`${url}: content-type ${type}`);
  return parsePrometheusText(await res.text());
}
