/**
 * The deployment files against the code they deploy, by parsing them (no Docker engine, no cluster):
 * docker-compose.yml, infra/ (every kustomization rendered with `kubectl kustomize`), the Dockerfile
 * with .dockerignore, and the configuration table of docs/configuration.md. Names come from the code, never from a copy:
 * variables from configSchema, queues from the job catalogue, Redis key names from BullMQ's own
 * QueueKeys under the prefix the configuration module computes, commands from package.json's
 * scripts, so renaming something on one side only fails here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, loadConfig } from '@pushcast/config';
import { QUEUE_STATES } from '@pushcast/observability';
import { queueNames } from '@pushcast/queues';
import { QueueKeys } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Every variable packages/config reads. */
const SCHEMA_KEYS: ReadonlySet<string> = new Set(Object.keys(configSchema.shape));
/** Node's own variables a Pushcast container may set. */
const NODE_VARS: ReadonlySet<string> = new Set(['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']);
/** What the official postgres image reads (the dev overlay's and compose's PostgreSQL). */
const POSTGRES_VARS = /^(POSTGRES_(USER|PASSWORD|DB|INITDB_ARGS|INITDB_WALDIR|HOST_AUTH_METHOD)|PGDATA)$/;
/** The Dockerfile's own ENV: Node's and npm's, never Pushcast settings (those belong to a deployment). */
const IMAGE_VARS = /^(NODE_ENV|NPM_CONFIG_[A-Z_]+)$/;
/** docs/configuration.md may list these besides the schema: Node's own, documented there. */
const README_EXTRA: ReadonlySet<string> = new Set(['NODE_EXTRA_CA_CERTS']);

type Role = 'api' | 'worker' | 'migrate' | 'all';
/** The npm script each process is. */
const ROLE_SCRIPTS: Record<Role, string> = { api: 'start:api', worker: 'start:worker', migrate: 'migrate', all: 'start' };
const REQUIRED: Record<Role, readonly string[]> = {
  api: ['DATABASE_URL', 'REDIS_URL', 'PUSHCAST_SECRET_KEY'],
  worker: ['DATABASE_URL', 'REDIS_URL', 'PUSHCAST_SECRET_KEY'],
  all: ['DATABASE_URL', 'REDIS_URL', 'PUSHCAST_SECRET_KEY'],
  migrate: ['DATABASE_URL', 'REDIS_URL'],
};
/** Served by the API on PORT and by a worker on METRICS_PORT. */
const LIVENESS_PATH = '/healthz';
const READINESS_PATH = '/readyz';
const METRICS_PATH = '/metrics';
/** What a Secret committed to the repository may hold instead of a value the app would accept. */
const PLACEHOLDER = /REPLACE_ME/;

const rootPackage = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies?: Record<string, string> };

function scriptArgv(script: string): string[] {
  const line = rootPackage.scripts[script];
  if (!line) throw new Error(`package.json has no script ${script}`);
  return line.trim().split(/\s+/);
}

const sameArgv = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The process a command starts: an npm script, or what that script runs. */
function roleOf(argv: readonly string[]): Role | undefined {
  for (const [role, script] of Object.entries(ROLE_SCRIPTS) as [Role, string][]) {
    if (sameArgv(argv, scriptArgv(script)) || sameArgv(argv, ['npm', 'run', script])) return role;
    if (script === 'start' && sameArgv(argv, ['npm', 'start'])) return role;
  }
  return undefined;
}

/** The configuration a process would load from these values (defaults for the rest), or its error. */
function tryLoadConfig(values: Record<string, string>): { ok: true; config: ReturnType<typeof loadConfig> } | { ok: false; error: string } {
  try {
    return { ok: true, config: loadConfig(values) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function parseYamlDocs(text: string, where: string): Obj[] {
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Obj[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: a document is not a mapping`);
    out.push(value as Obj);
  }
  return out;
}

function walk(dir: string, skip: (name: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (skip(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path, skip));
    else out.push(path);
  }
  return out;
}

const rel = (path: string) => relative(ROOT, path).split('\\').join('/');

// ---------------------------------------------------------------------------------------------
// Kubernetes: every kustomization rendered, as `kubectl apply -k` would send it.

const INFRA = join(ROOT, 'infra');
const infraYaml = walk(INFRA).filter((f) => /\.ya?ml$/.test(f));
const overlayDirs = readdirSync(join(INFRA, 'overlays'))
  .map((name) => join(INFRA, 'overlays', name))
  .filter((dir) => existsSync(join(dir, 'kustomization.yaml')));
const renderDirs = [join(INFRA, 'base'), ...overlayDirs];

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const kubectlFound = hasKubectl();
// kubectl (with its built-in kustomize) is on every machine of this project's kind; CI must not skip.
const describeRenders = kubectlFound || process.env.CI === 'true' ? describe : describe.skip;

interface Render {
  readonly name: string;
  readonly objects: readonly Obj[];
}
const renders = new Map<string, Render>();
function render(dir: string): Render {
  const name = rel(dir);
  let r = renders.get(name);
  if (!r) {
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    r = { name, objects: parseYamlDocs(out, `kubectl kustomize ${name}`) };
    renders.set(name, r);
  }
  return r;
}

const isDev = (r: Render) => r.name === 'infra/overlays/dev';
const isBase = (r: Render) => r.name === 'infra/base';
const ofKind = (r: Render, kind: string) => r.objects.filter((o) => o.kind === kind);
const named = (r: Render, kind: string, name: string) => r.objects.find((o) => o.kind === kind && o.metadata?.name === name);

interface PodTemplate {
  readonly owner: Obj;
  readonly metadata: Obj;
  readonly spec: Obj;
}
function podTemplates(r: Render): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const o of r.objects) {
    const template =
      o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template : ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind) ? o.spec?.template : undefined;
    if (template) out.push({ owner: o, metadata: template.metadata ?? {}, spec: template.spec ?? {} });
  }
  return out;
}

const isPushcastImage = (image: unknown) => typeof image === 'string' && /(^|\/)pushcast([:@]|$)/.test(image);

interface EnvEntry {
  readonly name: string;
  /** Known when written in the manifests (a literal, a ConfigMap, a Secret that is part of the render). */
  readonly value: string | undefined;
  readonly secret: boolean;
  readonly from: string;
}
interface ContainerEnv {
  readonly entries: Map<string, EnvEntry>;
  readonly problems: string[];
}

function secretData(secret: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries((secret.stringData ?? {}) as Record<string, string>)) out[k] = String(v);
  return out;
}

/** A container's environment as Kubernetes would build it, with where each variable comes from. */
function containerEnv(r: Render, container: Obj): ContainerEnv {
  const entries = new Map<string, EnvEntry>();
  const problems: string[] = [];
  for (const source of (container.envFrom ?? []) as Obj[]) {
    if (source.configMapRef) {
      const cm = named(r, 'ConfigMap', source.configMapRef.name);
      if (!cm) {
        if (!source.configMapRef.optional) problems.push(`envFrom ConfigMap ${source.configMapRef.name} is not in the manifests`);
        continue;
      }
      for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) {
        entries.set(k, { name: k, value: String(v), secret: false, from: `ConfigMap ${cm.metadata.name}` });
      }
    } else if (source.secretRef) {
      const secret = named(r, 'Secret', source.secretRef.name);
      if (!secret) {
        problems.push(`envFrom Secret ${source.secretRef.name}: its keys cannot be checked; name each variable with secretKeyRef`);
        continue;
      }
      for (const [k, v] of Object.entries(secretData(secret))) entries.set(k, { name: k, value: v, secret: true, from: `Secret ${source.secretRef.name}` });
    }
  }
  for (const e of (container.env ?? []) as Obj[]) {
    const name = String(e.name);
    if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef as Obj;
      const secret = named(r, 'Secret', ref.name);
      if (!secret) {
        // Made outside the manifests (production): the key name is all there is to check.
        entries.set(name, { name, value: undefined, secret: true, from: `Secret ${ref.name} (outside the manifests) key ${ref.key}` });
        continue;
      }
      const data = secretData(secret);
      if (!(ref.key in data)) {
        if (!ref.optional) problems.push(`${name}: Secret ${ref.name} has no key ${ref.key}`);
        continue;
      }
      if (ref.key !== name) problems.push(`${name} is read from Secret key ${ref.key}: name the key as the variable`);
      entries.set(name, { name, value: data[ref.key], secret: true, from: `Secret ${ref.name}` });
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef as Obj;
      const cm = named(r, 'ConfigMap', ref.name);
      const value = cm?.data?.[ref.key];
      if (value === undefined && !ref.optional) problems.push(`${name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) entries.set(name, { name, value: String(value), secret: false, from: `ConfigMap ${ref.name}` });
    } else if (e.valueFrom) {
      entries.set(name, { name, value: undefined, secret: false, from: 'valueFrom' });
    } else {
      entries.set(name, { name, value: e.value === undefined ? '' : String(e.value), secret: false, from: 'env' });
    }
  }
  return { entries, problems };
}

const knownValues = (env: ContainerEnv, withSecrets: boolean): Record<string, string> =>
  Object.fromEntries(
    [...env.entries.values()].filter((e) => e.value !== undefined && (withSecrets || !e.secret)).map((e) => [e.name, e.value as string]),
  );

interface PushcastContainer {
  readonly pod: PodTemplate;
  readonly container: Obj;
  readonly role: Role;
  readonly env: ContainerEnv;
  /** What the process would load from what the manifests say (secret values left out). */
  readonly config: ReturnType<typeof loadConfig>;
  readonly where: string;
}

function pushcastContainers(r: Render): PushcastContainer[] {
  const out: PushcastContainer[] = [];
  for (const pod of podTemplates(r)) {
    for (const container of [...((pod.spec.initContainers ?? []) as Obj[]), ...((pod.spec.containers ?? []) as Obj[])]) {
      if (!isPushcastImage(container.image)) continue;
      const where = `${r.name}: ${pod.owner.kind} ${pod.owner.metadata.name}, container ${container.name}`;
      const argv = [...((container.command ?? []) as string[]), ...((container.args ?? []) as string[])];
      const role = roleOf(argv);
      if (!role) throw new Error(`${where}: command ${JSON.stringify(argv)} is none of package.json's ${Object.values(ROLE_SCRIPTS).join(', ')}`);
      const env = containerEnv(r, container);
      const loaded = tryLoadConfig(knownValues(env, false));
      if (!loaded.ok) throw new Error(`${where}: ${loaded.error}`);
      out.push({ pod, container, role, env, config: loaded.config, where });
    }
  }
  return out;
}

function portNumber(container: Obj, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const found = ((container.ports ?? []) as Obj[]).find((p) => p.name === port);
  return found ? Number(found.containerPort) : undefined;
}

/** Seconds a preStop hook pauses (exec sleep N, or the sleep action). */
function preStopSeconds(container: Obj): number | undefined {
  const hook = container.lifecycle?.preStop as Obj | undefined;
  if (!hook) return undefined;
  if (hook.sleep) return Number(hook.sleep.seconds);
  const cmd = (hook.exec?.command ?? []) as string[];
  const n = cmd.join(' ').match(/\bsleep\s+(\d+(?:\.\d+)?)\b/);
  return n ? Number(n[1]) : 0;
}

const matchesSelector = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('infra/: every YAML file', () => {
  it.each(infraYaml.map((f) => [rel(f)]))('%s parses, each document a mapping', (file) => {
    const docs = parseYamlDocs(readFileSync(join(ROOT, file), 'utf8'), file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      // Helm values for prometheus-adapter are not Kubernetes objects; everything else is.
      if (!file.endsWith('-values.yaml')) expect(doc, `${file}: apiVersion and kind`).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String) });
    }
  });

  it('is used by a kustomization (no stale copy drifting beside the real one)', () => {
    const used = new Set<string>();
    for (const file of infraYaml.filter((f) => /(^|\/)kustomization\.yaml$/.test(f))) {
      const dir = dirname(file);
      used.add(rel(file));
      const k = parseYamlDocs(readFileSync(file, 'utf8'), rel(file))[0] ?? {};
      const refs: string[] = [...(k.resources ?? []), ...(k.components ?? []), ...(k.patchesStrategicMerge ?? [])];
      for (const p of (k.patches ?? []) as Obj[]) if (typeof p.path === 'string') refs.push(p.path);
      for (const ref of refs) {
        const path = resolve(dir, ref);
        if (existsSync(path) && statSync(path).isFile()) used.add(rel(path));
      }
    }
    const unused = infraYaml.map(rel).filter((f) => !used.has(f) && !f.endsWith('-values.yaml'));
    expect(unused, 'YAML files under infra/ that no kustomization lists').toEqual([]);
  });
});

describeRenders('infra/: the rendered kustomizations', () => {
  const names = renderDirs.map((d) => [rel(d)] as const);

  it.each(names)('%s renders with kubectl kustomize', (dir) => {
    const r = render(join(ROOT, dir));
    expect(r.objects.length).toBeGreaterThan(0);
  });

  it.each(names)('%s: an API, a worker and a migration Job, each with the command of its npm script', (dir) => {
    const roles = pushcastContainers(render(join(ROOT, dir))).map((c) => `${c.pod.owner.kind}:${c.role}`);
    expect(roles).toEqual(expect.arrayContaining(['Deployment:api', 'Deployment:worker', 'Job:migrate']));
  });

  it.each(names)('%s: every variable set is one packages/config reads (or Node\'s own)', (dir) => {
    const r = render(join(ROOT, dir));
    const wrong: string[] = [];
    for (const c of pushcastContainers(r)) {
      wrong.push(...c.env.problems.map((p) => `${c.where}: ${p}`));
      for (const e of c.env.entries.values()) {
        if (!SCHEMA_KEYS.has(e.name) && !NODE_VARS.has(e.name)) wrong.push(`${c.where}: ${e.name} (from ${e.from}) is not a Pushcast variable`);
      }
    }
    // Every key of a ConfigMap or Secret that Pushcast containers read is a variable too, used or not.
    const read = new Set<string>();
    for (const c of pushcastContainers(r)) {
      for (const s of (c.container.envFrom ?? []) as Obj[]) read.add(`ConfigMap/${s.configMapRef?.name}`).add(`Secret/${s.secretRef?.name}`);
      for (const e of (c.container.env ?? []) as Obj[]) if (e.valueFrom?.secretKeyRef) read.add(`Secret/${e.valueFrom.secretKeyRef.name}`);
    }
    for (const o of r.objects.filter((x) => read.has(`${x.kind}/${x.metadata?.name}`))) {
      const keys = o.kind === 'Secret' ? Object.keys(secretData(o)) : Object.keys(o.data ?? {});
      for (const k of keys) if (!SCHEMA_KEYS.has(k) && !NODE_VARS.has(k)) wrong.push(`${r.name}: ${o.kind} ${o.metadata.name} has ${k}, not a Pushcast variable`);
    }
    // Other containers (the dev overlay's PostgreSQL and Redis) set only what their image reads.
    for (const pod of podTemplates(r)) {
      for (const c of (pod.spec.containers ?? []) as Obj[]) {
        if (isPushcastImage(c.image)) continue;
        const allowed = /^postgres[:@]/.test(String(c.image)) ? POSTGRES_VARS : /^$/;
        for (const e of (c.env ?? []) as Obj[]) if (!allowed.test(e.name)) wrong.push(`${r.name}: ${pod.owner.metadata.name} (${c.image}) sets ${e.name}`);
        if (c.envFrom) wrong.push(`${r.name}: ${pod.owner.metadata.name} (${c.image}) uses envFrom`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(names)('%s: every process has the variables it needs; API and workers never migrate at start', (dir) => {
    const missing: string[] = [];
    for (const c of pushcastContainers(render(join(ROOT, dir)))) {
      for (const v of REQUIRED[c.role]) if (!c.env.entries.has(v)) missing.push(`${c.where} (${c.role}) lacks ${v}`);
      if ((c.role === 'api' || c.role === 'worker') && c.config.migrateOnStart) missing.push(`${c.where}: PUSHCAST_MIGRATE_ON_START must be false (the migration Job applies them)`);
    }
    expect(missing).toEqual([]);
  });

  it.each(names)('%s: probes and ports are the ones the processes serve', (dir) => {
    const wrong: string[] = [];
    for (const c of pushcastContainers(render(join(ROOT, dir)))) {
      if (c.role !== 'api' && c.role !== 'worker') continue;
      // The API serves on PORT; a worker's /metrics, /healthz and /readyz are on METRICS_PORT.
      const port = c.role === 'api' ? c.config.port : c.config.metricsPort;
      const portVar = c.role === 'api' ? 'PORT' : 'METRICS_PORT';
      if (!((c.container.ports ?? []) as Obj[]).some((p) => Number(p.containerPort) === port)) wrong.push(`${c.where}: no containerPort ${port} (${portVar})`);
      const probes: [string, string][] = [
        ['livenessProbe', LIVENESS_PATH],
        ['readinessProbe', READINESS_PATH],
      ];
      if (c.container.startupProbe) probes.push(['startupProbe', LIVENESS_PATH]);
      for (const [probe, path] of probes) {
        const get = c.container[probe]?.httpGet as Obj | undefined;
        if (!get) {
          wrong.push(`${c.where}: no ${probe} httpGet`);
          continue;
        }
        if (get.path !== path) wrong.push(`${c.where}: ${probe} on ${get.path}, the process serves ${path}`);
        if (portNumber(c.container, get.port) !== port) wrong.push(`${c.where}: ${probe} on port ${get.port}, the process serves on ${portVar}=${port}`);
      }
      const a = (c.pod.metadata.annotations ?? {}) as Record<string, string>;
      if (a['prometheus.io/scrape'] === 'true') {
        if (Number(a['prometheus.io/port']) !== port) wrong.push(`${c.where}: prometheus.io/port ${a['prometheus.io/port']}, metrics are on ${portVar}=${port}`);
        if ((a['prometheus.io/path'] ?? METRICS_PATH) !== METRICS_PATH) wrong.push(`${c.where}: prometheus.io/path ${a['prometheus.io/path']}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(names)('%s: termination grace covers the preStop pause and SHUTDOWN_GRACE_MS', (dir) => {
    const wrong: string[] = [];
    for (const c of pushcastContainers(render(join(ROOT, dir)))) {
      if (c.role !== 'api' && c.role !== 'worker') continue;
      const pause = preStopSeconds(c.container);
      if (pause === undefined) wrong.push(`${c.where}: no preStop hook`);
      const grace = Number(c.pod.spec.terminationGracePeriodSeconds ?? 30);
      const needed = (pause ?? 0) + c.config.shutdownGraceMs / 1000;
      if (!(grace > needed)) wrong.push(`${c.where}: terminationGracePeriodSeconds ${grace} <= preStop ${pause} s + SHUTDOWN_GRACE_MS ${c.config.shutdownGraceMs} ms`);
    }
    expect(wrong).toEqual([]);
  });

  it.each(names)('%s: Services, monitors and PodDisruptionBudgets select pods and ports that exist', (dir) => {
    const r = render(join(ROOT, dir));
    const pods = podTemplates(r);
    const wrong: string[] = [];
    const podsOf = (selector: Record<string, string> | undefined) => pods.filter((p) => matchesSelector(selector, p.metadata.labels));
    for (const svc of ofKind(r, 'Service')) {
      const selected = podsOf(svc.spec?.selector);
      if (selected.length === 0) wrong.push(`Service ${svc.metadata.name} selects no pod`);
      for (const port of (svc.spec?.ports ?? []) as Obj[]) {
        for (const p of selected) {
          const containers = (p.spec.containers ?? []) as Obj[];
          if (!containers.some((c) => portNumber(c, port.targetPort ?? port.port) !== undefined)) wrong.push(`Service ${svc.metadata.name}: targetPort ${port.targetPort} is no port of ${p.owner.metadata.name}`);
        }
      }
    }
    for (const pdb of ofKind(r, 'PodDisruptionBudget')) {
      if (podsOf(pdb.spec?.selector?.matchLabels).length === 0) wrong.push(`PodDisruptionBudget ${pdb.metadata.name} selects no pod`);
    }
    for (const c of pushcastContainers(r)) {
      if (c.pod.owner.kind === 'Deployment' && !ofKind(r, 'PodDisruptionBudget').some((pdb) => matchesSelector(pdb.spec?.selector?.matchLabels, c.pod.metadata.labels))) {
        wrong.push(`${c.where}: no PodDisruptionBudget`);
      }
    }
    for (const sm of ofKind(r, 'ServiceMonitor')) {
      const svc = ofKind(r, 'Service').find((s) => matchesSelector(sm.spec?.selector?.matchLabels, s.metadata?.labels));
      if (!svc) wrong.push(`ServiceMonitor ${sm.metadata.name} selects no Service`);
      for (const ep of (sm.spec?.endpoints ?? []) as Obj[]) {
        if (svc && !((svc.spec?.ports ?? []) as Obj[]).some((p) => p.name === ep.port)) wrong.push(`ServiceMonitor ${sm.metadata.name}: no Service port ${ep.port}`);
        if (ep.path !== METRICS_PATH) wrong.push(`ServiceMonitor ${sm.metadata.name}: path ${ep.path}`);
      }
    }
    for (const pm of ofKind(r, 'PodMonitor')) {
      const selected = podsOf(pm.spec?.selector?.matchLabels);
      if (selected.length === 0) wrong.push(`PodMonitor ${pm.metadata.name} selects no pod`);
      for (const ep of (pm.spec?.podMetricsEndpoints ?? []) as Obj[]) {
        for (const p of selected) {
          const c = pushcastContainers(r).find((x) => x.pod.owner === p.owner);
          if (!c || portNumber(c.container, ep.port) !== c.config.metricsPort) wrong.push(`PodMonitor ${pm.metadata.name}: port ${ep.port} is not METRICS_PORT of ${p.owner.metadata.name}`);
        }
        if (ep.path !== METRICS_PATH) wrong.push(`PodMonitor ${pm.metadata.name}: path ${ep.path}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(names)('%s: KEDA counts waiting and prioritized jobs of every queue, under the prefix BullMQ uses', (dir) => {
    const r = render(join(ROOT, dir));
    const worker = pushcastContainers(r).find((c) => c.role === 'worker' && c.pod.owner.kind === 'Deployment');
    expect(worker, 'a worker Deployment').toBeDefined();
    const scaledObjects = ofKind(r, 'ScaledObject');
    const hpas = ofKind(r, 'HorizontalPodAutoscaler').filter((h) => h.spec?.scaleTargetRef?.name === worker!.pod.owner.metadata.name);
    expect(scaledObjects.length + hpas.length, 'one autoscaler at most for the workers').toBeLessThanOrEqual(1);
    for (const so of scaledObjects) {
      expect(so.spec.scaleTargetRef.name).toBe(worker!.pod.owner.metadata.name);
      expect(Number(so.spec.minReplicaCount ?? 0), 'minReplicaCount: delayed jobs need a running worker').toBeGreaterThanOrEqual(1);
      // The keys the worker's BullMQ uses: its prefix as packages/config computes it (REDIS_CLUSTER
      // puts it in a hash tag), the key names as BullMQ computes them.
      const keys = new QueueKeys(worker!.config.bullPrefix);
      const expected = queueNames.flatMap((q) => [keys.getKeys(q).wait!, keys.getKeys(q).prioritized!]);
      const triggers = (so.spec.triggers ?? []) as Obj[];
      const listed = triggers.map((t) => String(t.metadata?.listName));
      expect([...listed].sort(), `ScaledObject ${so.metadata.name}: one trigger per queue key`).toEqual([...expected].sort());
      const type = worker!.config.redisCluster ? 'redis-cluster' : 'redis';
      for (const t of triggers) {
        expect(t.type, `trigger ${t.name}`).toBe(type);
        const auth = t.authenticationRef?.name;
        if (auth) expect(named(r, t.authenticationRef.kind ?? 'TriggerAuthentication', auth), `TriggerAuthentication ${auth}`).toBeDefined();
      }
      const modifiers = so.spec.advanced?.scalingModifiers as Obj | undefined;
      if (modifiers) {
        // Triggers are only added up through the formula: each must be in it, by name.
        const formula = String(modifiers.formula);
        for (const t of triggers) {
          expect(t.name, 'a trigger in a formula has a name').toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
          expect(formula.split(/[^A-Za-z0-9_]+/), `formula uses ${t.name}`).toContain(t.name);
        }
        expect(Number(modifiers.target)).toBeGreaterThan(0);
      }
    }
  });

  it.each(names)('%s: the HPA alternative reads the metric prometheus-adapter serves', (dir) => {
    const r = render(join(ROOT, dir));
    const rules = parseYamlDocs(read('infra/components/hpa-prometheus/prometheus-adapter-values.yaml'), 'prometheus-adapter-values.yaml')[0]!;
    const external = (rules.rules?.external ?? []) as Obj[];
    for (const hpa of ofKind(r, 'HorizontalPodAutoscaler')) {
      expect(Number(hpa.spec.minReplicas ?? 1)).toBeGreaterThanOrEqual(1);
      for (const m of (hpa.spec.metrics ?? []) as Obj[]) {
        if (m.type !== 'External') continue;
        const rule = external.find((x) => x.name?.as === m.external.metric.name);
        expect(rule, `an adapter rule serving ${m.external.metric.name}`).toBeDefined();
        // Prioritized jobs count: chunks are prioritized, a broadcast would be invisible otherwise.
        expect(rule!.seriesQuery).toMatch(/^pushcast_queue_jobs\{/);
        expect(rule!.metricsQuery).toMatch(/waiting/);
        expect(rule!.metricsQuery).toMatch(/prioritized/);
      }
    }
  });

  it('the migration Job never restarts in place and may run again', () => {
    for (const dir of renderDirs) {
      for (const c of pushcastContainers(render(dir)).filter((x) => x.role === 'migrate')) {
        expect(c.pod.owner.kind, c.where).toBe('Job');
        expect(c.pod.spec.restartPolicy, c.where).toBe('Never');
      }
    }
  });

  it('Secrets hold placeholders the app refuses, except the dev overlay\'s dev-only values; other overlays hold none', () => {
    for (const dir of renderDirs) {
      const r = render(dir);
      const secrets = ofKind(r, 'Secret');
      if (!isBase(r) && !isDev(r)) {
        expect(secrets.map((s) => s.metadata.name), `${r.name}: secrets are made outside git`).toEqual([]);
        continue;
      }
      for (const s of secrets) {
        for (const [k, v] of Object.entries(secretData(s))) {
          if (isDev(r)) {
            expect(PLACEHOLDER.test(v), `${r.name}: Secret ${s.metadata.name} ${k} is a dev value`).toBe(false);
          } else if (SCHEMA_KEYS.has(k)) {
            expect(v, `${r.name}: Secret ${s.metadata.name} ${k}`).toMatch(PLACEHOLDER);
            expect(tryLoadConfig({ [k]: v }).ok, `${r.name}: the app refuses the placeholder of ${k}`).toBe(false);
          }
        }
      }
    }
  });

  it('the dev overlay starts: every process loads its whole configuration, with a self-declared dev-only key', () => {
    const r = render(join(INFRA, 'overlays', 'dev'));
    for (const c of pushcastContainers(r)) {
      const loaded = tryLoadConfig(knownValues(c.env, true));
      expect(loaded.ok ? 'ok' : loaded.error, c.where).toBe('ok');
      const key = c.env.entries.get('PUSHCAST_SECRET_KEY')?.value;
      if (key !== undefined) expect(Buffer.from(key, 'base64').toString('utf8'), `${c.where}: the secret key says it is dev-only`).toMatch(/dev-only/);
    }
    // Its in-cluster Redis is configured as production's must be.
    const redis = podTemplates(r).flatMap((p) => (p.spec.containers ?? []) as Obj[]).filter((c) => /^redis[:@]/.test(String(c.image)));
    expect(redis.length).toBe(1);
    for (const c of redis) expectSafeRedis([...((c.command ?? []) as string[]), ...((c.args ?? []) as string[])]);
  });
});

function expectSafeRedis(argv: readonly string[]): void {
  const line = argv.join(' ');
  expect(line, 'Redis with AOF').toMatch(/--appendonly\s+yes\b/);
  expect(line, 'Redis never evicts BullMQ keys').toMatch(/--maxmemory-policy\s+noeviction\b/);
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as Obj;
const services = compose.services as Record<string, Obj>;

/** Compose's interpolation of ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}. */
function interpolate(value: string, env: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
      const v = env[name];
      if (op === ':-') return v ? v : (arg ?? '');
      if (op === '-') return v ?? (arg ?? '');
      if (op === ':?' || op === '?') {
        if (op === ':?' ? !v : v === undefined) throw new Error(`${name}: ${arg}`);
        return v!;
      }
      return v ?? '';
    })
    .replaceAll('$$', '$');
}

function composeEnv(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries((env as string[]).map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** What `docker compose up` with only PUSHCAST_ADMIN_TOKEN exported would pass. */
const SHELL = { PUSHCAST_ADMIN_TOKEN: 'a'.repeat(32), PUSHCAST_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
const composeValues = (service: Obj) => Object.fromEntries(Object.entries(composeEnv(service)).map(([k, v]) => [k, interpolate(v, SHELL)]));

function composeRole(service: Obj): Role | undefined {
  const command = service.command;
  const argv = Array.isArray(command) ? (command as string[]) : typeof command === 'string' ? command.trim().split(/\s+/) : [];
  return roleOf(argv);
}

function seconds(duration: unknown): number {
  const m = String(duration).match(/^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/);
  if (!m || (!m[1] && !m[2])) throw new Error(`unreadable duration ${String(duration)}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

describe('docker-compose.yml', () => {
  const pushcastServices = Object.entries(services).filter(([, s]) => s.build !== undefined || isPushcastImage(s.image));

  it('has redis, postgres, migrate, api and worker, the Pushcast ones with the commands of their npm scripts', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'postgres', 'migrate', 'api', 'worker']));
    expect(Object.fromEntries(pushcastServices.map(([name, s]) => [name, composeRole(s)]))).toEqual({ migrate: 'migrate', api: 'api', worker: 'worker' });
  });

  it('sets only variables packages/config reads, in the x-pushcast-env block and in each service', () => {
    const wrong: string[] = [];
    for (const name of Object.keys(compose['x-pushcast-env'] ?? {})) if (!SCHEMA_KEYS.has(name) && !NODE_VARS.has(name)) wrong.push(`x-pushcast-env: ${name}`);
    for (const [name, s] of Object.entries(services)) {
      const allowed = (k: string) => (pushcastServices.some(([n]) => n === name) ? SCHEMA_KEYS.has(k) || NODE_VARS.has(k) : /^postgres[:@]/.test(String(s.image)) ? POSTGRES_VARS.test(k) : false);
      for (const k of Object.keys(composeEnv(s))) if (!allowed(k)) wrong.push(`${name}: ${k}`);
    }
    expect(wrong).toEqual([]);
    expect(Object.keys(compose['x-pushcast-env'] ?? {}).length).toBeGreaterThan(0);
  });

  it('gives every process what it needs and a configuration that loads; one secret key for api and workers', () => {
    for (const [name, s] of pushcastServices) {
      const role = composeRole(s)!;
      const values = composeValues(s);
      for (const v of REQUIRED[role]) expect(values[v], `${name} needs ${v}`).toBeTruthy();
      const loaded = tryLoadConfig(values);
      expect(loaded.ok ? 'ok' : loaded.error, name).toBe('ok');
      if (loaded.ok && (role === 'api' || role === 'worker')) expect(loaded.config.migrateOnStart, `${name}: migrate runs them`).toBe(false);
    }
    expect(composeValues(services.api!).PUSHCAST_SECRET_KEY).toBe(composeValues(services.worker!).PUSHCAST_SECRET_KEY);
    expect(() => interpolate(composeEnv(services.api!).PUSHCAST_ADMIN_TOKEN ?? '', {}), 'no admin token, no start').toThrow();
    // No default anybody could read here: without a key of one's own, compose refuses to start.
    expect(() => interpolate(composeEnv(services.api!).PUSHCAST_SECRET_KEY ?? '', {}), 'no secret key, no start').toThrow();
  });

  it('keeps the dev-only secret key of the dev overlay declared as such, and none in compose', () => {
    const dev = parseYamlDocs(read('infra/overlays/dev/secret.yaml'), 'dev/secret.yaml')[0]!;
    expect(Buffer.from(String(dev.stringData.PUSHCAST_SECRET_KEY), 'base64').toString('utf8')).toMatch(/dev-only/);
    expect(read('docker-compose.yml')).not.toContain(String(dev.stringData.PUSHCAST_SECRET_KEY));
  });

  it('health checks /readyz on PORT (api) and METRICS_PORT (worker)', () => {
    for (const [name, s] of pushcastServices) {
      const role = composeRole(s);
      if (role !== 'api' && role !== 'worker') continue;
      const loaded = tryLoadConfig(composeValues(s));
      if (!loaded.ok) throw new Error(loaded.error);
      const port = role === 'api' ? loaded.config.port : loaded.config.metricsPort;
      const test = ([] as unknown[]).concat(s.healthcheck?.test ?? []).join(' ');
      const url = test.match(/https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[A-Za-z0-9_/-]*)/);
      expect(url, `${name}: a healthcheck fetching a local URL`).not.toBeNull();
      expect(Number(url![1]), `${name}: healthcheck port`).toBe(port);
      expect(url![2], `${name}: healthcheck path`).toBe(READINESS_PATH);
    }
    const apiPort = tryLoadConfig(composeValues(services.api!));
    if (!apiPort.ok) throw new Error(apiPort.error);
    const published = ((services.api!.ports ?? []) as unknown[]).map((p) => Number(String(p).split(':').pop()));
    expect(published, 'api publishes PORT').toContain(apiPort.config.port);
  });

  it('lets workers scale (`--scale worker=4`): no fixed name, no host port', () => {
    expect(services.worker!.container_name).toBeUndefined();
    expect(services.worker!.ports).toBeUndefined();
  });

  it('stops api and workers after SHUTDOWN_GRACE_MS, not before', () => {
    for (const name of ['api', 'worker']) {
      const loaded = tryLoadConfig(composeValues(services[name]!));
      if (!loaded.ok) throw new Error(loaded.error);
      expect(seconds(services[name]!.stop_grace_period ?? '10s'), name).toBeGreaterThan(loaded.config.shutdownGraceMs / 1000);
    }
  });

  it('runs migrate to completion before api and workers', () => {
    for (const name of ['api', 'worker']) expect(services[name]!.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
  });

  it('runs Redis with AOF and noeviction', () => {
    const command = services.redis!.command;
    expectSafeRedis(Array.isArray(command) ? (command as string[]) : String(command).split(/\s+/));
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) && pending === '') continue;
    if (/^\s*#/.test(raw)) continue; // a comment inside a continued instruction
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) lines.push(full);
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = line.match(/^(\w+)\s+([\s\S]*)$/) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const m = args.match(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i);
      stages.push({ from: m?.[1] ?? '', name: m?.[2], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** .dockerignore as BuildKit reads it: last matching line wins; a match on a parent folder counts. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i]!;
        if (pattern.startsWith('**/', i)) {
          re += '(?:.*/)?';
          i += 2;
        } else if (pattern.startsWith('**', i)) {
          re += '.*';
          i += 1;
        } else if (ch === '*') re += '[^/]*';
        else if (ch === '?') re += '[^/]';
        else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (candidates.some((c) => rule.re.test(c))) excluded = !rule.negate;
    return excluded;
  };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const ignored = dockerignore(read('.dockerignore'));
const finalStage = dockerfile.at(-1)!;

/** Workspaces by folder (apps/api …), from package.json's workspace globs. */
const workspaces = new Map<string, { name: string; dependencies: Record<string, string>; exports: unknown }>();
for (const group of ['apps', 'packages']) {
  for (const dir of readdirSync(join(ROOT, group))) {
    const file = join(ROOT, group, dir, 'package.json');
    if (existsSync(file)) {
      const p = JSON.parse(readFileSync(file, 'utf8')) as { name: string; dependencies?: Record<string, string>; exports?: unknown };
      workspaces.set(`${group}/${dir}`, { name: p.name, dependencies: p.dependencies ?? {}, exports: p.exports });
    }
  }
}
const workspaceByName = new Map([...workspaces].map(([dir, w]) => [w.name, dir] as const));

function jsonArgs(args: string): string[] | undefined {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Context paths the final stage copies (not --from another stage). */
const copied = finalStage.instructions
  .filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))
  .flatMap((i) => {
    const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    return parts.slice(0, -1).map((src) => ({ src: src.replace(/\/$/, ''), dest: parts.at(-1)! }));
  });

/** Files of the image's /app that come from the build context, after .dockerignore. */
const imageFiles = new Set<string>();
for (const { src } of copied) {
  const abs = join(ROOT, src);
  if (!existsSync(abs)) continue;
  const files = statSync(abs).isDirectory() ? walk(abs, (n) => n === 'node_modules' || n === '.git') : [abs];
  for (const f of files) if (!ignored(rel(f))) imageFiles.add(rel(f));
}

/** Workspaces whose dependencies npm ci installs: those named with --workspace, their workspace dependencies, transitively. */
function installedWorkspaces(): Set<string> {
  const run = dockerfile.flatMap((s) => s.instructions).find((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
  const named = [...(run?.args.matchAll(/--workspace[= ](\S+)/g) ?? [])].map((m) => m[1]!);
  const dirs = new Set<string>();
  const add = (name: string) => {
    const dir = workspaceByName.get(name) ?? (workspaces.has(name) ? name : undefined);
    if (!dir || dirs.has(dir)) return;
    dirs.add(dir);
    for (const dep of Object.keys(workspaces.get(dir)!.dependencies)) if (workspaceByName.has(dep)) add(dep);
  };
  for (const n of named) add(n);
  if (named.length === 0) for (const dir of workspaces.keys()) dirs.add(dir);
  return dirs;
}

const packageName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** Follows the imports of the entry points: every file and asset they load, and third-party packages by importer. */
function importGraph(entries: readonly string[]): { files: Set<string>; assets: Set<string>; bare: Map<string, Set<string>> } {
  const files = new Set<string>();
  const assets = new Set<string>();
  const bare = new Map<string, Set<string>>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = read(file)
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const specs = [
      ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
    ];
    for (const m of text.matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      const asset = posix.join(posix.dirname(file), m[1]!);
      assets.add(m[1]!.endsWith('/') && !asset.endsWith('/') ? `${asset}/` : asset);
    }
    for (const spec of specs) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(file), spec));
        queue.push([target, `${target}.ts`, `${target}/index.ts`].find((c) => existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) ?? target);
      } else if (workspaceByName.has(packageName(spec))) {
        const dir = workspaceByName.get(packageName(spec))!;
        const exp = workspaces.get(dir)!.exports;
        const entry = typeof exp === 'string' ? exp : ((exp as Record<string, string> | undefined)?.['.'] ?? './src/index.ts');
        queue.push(posix.normalize(posix.join(dir, entry)));
      } else {
        const importer = [...workspaces.keys()].find((d) => file.startsWith(`${d}/`)) ?? '.';
        const set = bare.get(packageName(spec)) ?? new Set<string>();
        bare.set(packageName(spec), set.add(importer));
      }
    }
  }
  return { files, assets, bare };
}

describe('Dockerfile and .dockerignore', () => {
  it('builds in stages and runs as a non-root user', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    const user = finalStage.instructions.filter((i) => i.op === 'USER').at(-1)?.args.split(':')[0];
    expect(user, 'USER in the final stage').toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(user, 'a numeric user, which runAsNonRoot can check').toMatch(/^[1-9]\d*$/);
  });

  it('installs production dependencies only, from the lockfile, in a stage of its own', () => {
    const installs = dockerfile.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)).map((i) => ({ s, i })));
    expect(installs.length).toBeGreaterThan(0);
    for (const { s, i } of installs) {
      expect(i.args, 'npm ci, from the lockfile').toMatch(/\bnpm ci\b/);
      expect(i.args).toMatch(/--omit=dev\b/);
      expect(s, 'not in the runtime stage').not.toBe(finalStage);
    }
    expect(finalStage.instructions.some((i) => i.op === 'COPY' && /--from=\S+/.test(i.args) && /node_modules/.test(i.args))).toBe(true);
  });

  it('copies every workspace package.json before npm ci, so npm sees the lockfile\'s workspaces', () => {
    const install = dockerfile.find((s) => s.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args)))!;
    const copiedThere = install.instructions.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/));
    for (const dir of workspaces.keys()) expect(copiedThere, `${dir}/package.json`).toContain(`${dir}/package.json`);
    for (const dir of workspaces.keys()) expect(ignored(`${dir}/package.json`), `.dockerignore keeps ${dir}/package.json`).toBe(false);
  });

  it('copies only paths that exist and that .dockerignore keeps', () => {
    const sources = dockerfile
      .flatMap((s) => s.instructions)
      .filter((i) => (i.op === 'COPY' || i.op === 'ADD') && !/--from=/.test(i.args))
      .flatMap((i) => {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1).map((p) => p.replace(/\/$/, ''));
      });
    expect(sources.filter((p) => !existsSync(join(ROOT, p))), 'missing from the build context').toEqual([]);
    expect(sources.filter((p) => ignored(p)), 'dropped by .dockerignore').toEqual([]);
  });

  it('sets only Node\'s and npm\'s variables (Pushcast settings belong to the deployment)', () => {
    const names = finalStage.instructions.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!));
    expect(names.filter((n) => !IMAGE_VARS.test(n))).toEqual([]);
  });

  it('starts a process of package.json by default', () => {
    const cmd = finalStage.instructions.filter((i) => i.op === 'CMD').at(-1);
    const argv = cmd ? jsonArgs(cmd.args) : undefined;
    expect(argv, 'CMD in exec form (node gets the signals)').toBeDefined();
    expect(roleOf(argv!)).toBeDefined();
  });

  it('holds every file the API, the worker, the all-in-one process, migrations and the CLI load, and their dependencies', () => {
    const entries = [...new Set(Object.values(ROLE_SCRIPTS).map((s) => scriptArgv(s).find((a) => a.endsWith('.ts'))!))];
    entries.push('apps/pushcast/bin/pushcast.js');
    const graph = importGraph(entries);
    const missing = [...graph.files].filter((f) => !imageFiles.has(f));
    expect(missing, 'imported but not in the image').toEqual([]);
    // Written by the image's own build (a RUN of the final stage), not copied from the checkout.
    const builtInImage: Record<string, string> = { 'apps/api/console-build/': 'apps/api/src/console/build.ts' };
    for (const asset of graph.assets) {
      const builder = builtInImage[asset];
      if (builder) {
        expect(imageFiles.has(builder), builder).toBe(true);
        expect(finalStage.instructions.some((i) => i.op === 'RUN' && i.args.includes(builder)), `a RUN of ${builder} writes ${asset}`).toBe(true);
      } else if (asset.endsWith('/')) expect([...imageFiles].some((f) => f.startsWith(asset)), `assets in ${asset}`).toBe(true);
      else expect(imageFiles.has(asset), asset).toBe(true);
    }
    // A third-party import resolves in the image when the package is a (non-dev) dependency of the
    // root or of a workspace npm ci installed for.
    const installed = installedWorkspaces();
    const declared = new Set([...Object.keys(rootPackage.dependencies ?? {}), ...[...installed].flatMap((d) => Object.keys(workspaces.get(d)!.dependencies))]);
    const undeclared = [...graph.bare].filter(([name]) => !declared.has(name)).map(([name, by]) => `${name} (imported by ${[...by].join(', ')})`);
    expect(undeclared, 'packages the image would not install').toEqual([]);
    for (const dir of installed) expect(copied.map((c) => c.src), `the image copies ${dir}`).toContain(dir);
  });

  it('leaves out tests, benchmarks, the demo and its local servers', () => {
    const unwanted = [...imageFiles].filter(
      (f) => /\.test\.ts$/.test(f) || /(^|\/)bench\//.test(f) || /^apps\/pushcast\/src\/demo/.test(f) || /^packages\/local-/.test(f) || /^test\//.test(f),
    );
    expect(unwanted).toEqual([]);
    expect(imageFiles.has('apps/api/src/main.ts')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// What the manifests and docs/operations.md name in the code: routes, metrics, queue states

/** Source files (no tests) of the processes. */
const sources = ['apps', 'packages']
  .flatMap((group) => walk(join(ROOT, group), (n) => n === 'node_modules' || n === 'bench'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map(rel);

describe('names the manifests share with the code', () => {
  it('the probe and scrape paths are routes the API and the worker\'s metrics server serve', () => {
    const api = sources.filter((f) => f.startsWith('apps/api/')).map(read).join('\n');
    const workerServer = read('packages/observability/src/metrics-server.ts');
    for (const path of [LIVENESS_PATH, READINESS_PATH, METRICS_PATH]) {
      expect(api, `the API serves ${path}`).toMatch(new RegExp(`app\\.get\\(\\s*'${path}'`));
      expect(workerServer, `a worker serves ${path}`).toMatch(new RegExp(`case '${path}'`));
    }
  });

  const monitored = [...infraYaml.map(rel), 'docs/operations.md'];

  it('every pushcast_* metric named in infra/ and docs/operations.md is one the code registers', () => {
    const registered = new Set(sources.flatMap((f) => [...read(f).matchAll(/\bname:\s*'(pushcast_[a-z0-9_]+)'/g)].map((m) => m[1]!)));
    // Names made by prometheus-adapter from a registered one.
    const adapter = parseYamlDocs(read('infra/components/hpa-prometheus/prometheus-adapter-values.yaml'), 'adapter')[0]!;
    for (const rule of (adapter.rules?.external ?? []) as Obj[]) registered.add(String(rule.name?.as));
    const unknown: string[] = [];
    for (const file of monitored) {
      for (const m of read(file).matchAll(/\bpushcast_[a-z0-9_]*[a-z0-9]\b/g)) {
        const name = m[0].replace(/_(bucket|sum|count)$/, '');
        if (!registered.has(name) && !registered.has(m[0])) unknown.push(`${file}: ${m[0]}`);
      }
    }
    expect(registered.has('pushcast_queue_jobs')).toBe(true);
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('queue states in selectors are states pushcast_queue_jobs reports', () => {
    const wrong: string[] = [];
    for (const file of monitored) {
      for (const m of read(file).matchAll(/\bstate\s*(=~|=)\s*\\?"([^"\\]+)\\?"/g)) {
        for (const state of m[2]!.split('|')) if (!(QUEUE_STATES as readonly string[]).includes(state)) wrong.push(`${file}: state ${state}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The configuration table (docs/configuration.md)

const CONFIGURATION_DOC = 'docs/configuration.md';

describe('docs/configuration.md', () => {
  it('lists every variable of packages/config, and nothing else', () => {
    const section = read(CONFIGURATION_DOC);
    const listed = new Set([...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((m) => m[1]!));
    const missing = [...SCHEMA_KEYS].filter((k) => !listed.has(k));
    const extra = [...listed].filter((k) => !SCHEMA_KEYS.has(k) && !README_EXTRA.has(k));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('gives each variable the default packages/config declares', () => {
    const section = read(CONFIGURATION_DOC);
    const wrong: string[] = [];
    for (const m of section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]*?)\s*\|/gm)) {
      const field = (configSchema.shape as Record<string, { safeParse(v: undefined): { success: boolean; data?: unknown } }>)[m[1]!];
      if (!field) continue;
      const parsed = field.safeParse(undefined);
      const value = parsed.success ? parsed.data : undefined;
      const shown = value === undefined || (Array.isArray(value) && value.length === 0) ? '—' : `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
      if (shown !== m[2]) wrong.push(`${m[1]}: ${CONFIGURATION_DOC} says ${m[2]}, the schema ${shown}`);
    }
    expect(wrong).toEqual([]);
  });
});
