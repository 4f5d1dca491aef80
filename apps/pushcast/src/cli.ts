import { parseArgs } from 'node:util';
import { exportCommand, importCommand, withCoreDeps } from './bulk.ts';
import { ConfigError, loadConfig } from '@pushcast/config';
import { newAccessTokenSecret } from '@pushcast/domain';
import {
  createDb,
  ensureDatabase,
  insertAccessToken,
  listAccessTokens,
  listProjects,
  migrate,
  revokeAccessToken,
} from '@pushcast/store';
import { rekey } from './rekey.ts';

const USAGE = `usage:
  pushcast migrate                                   apply database migrations
  pushcast rekey [--batch-size N]                    re-seal every secret under PUSHCAST_SECRET_KEY (online,
                                                     resumable; reads the old ones with PUSHCAST_SECRET_KEY_PREVIOUS)
  pushcast token create --project ID [--project ID]  mint a token scoped to projects
  pushcast token create --admin                      mint an admin token
        [--name NAME]
  pushcast token list                                list live tokens (never the secrets)
  pushcast token revoke ID                           revoke a token
  pushcast import FILE --project ID                  import subscriptions from NDJSON or CSV (.csv),
        [--format ndjson|csv] [--no-wait]            gzip or not; waits for a worker to apply them
  pushcast export --project ID > FILE                export subscriptions (what import takes back)
        [--format ndjson|csv] [--tags EXPR]
Reads DATABASE_URL (and REDIS_URL for import, the secret keys for rekey) like the server does.`;

function fail(message: string): never {
  process.stderr.write(`pushcast: ${message}\n`);
  process.exit(2);
}

function oneProject(given: string[] | undefined): number {
  const [only, ...more] = given ?? [];
  if (only === undefined || more.length > 0) fail('needs exactly one --project ID');
  if (!/^[1-9]\d{0,15}$/.test(only)) fail(`--project ${only}: must be a project id`);
  return Number(only);
}

function bulkFormat(given: string | undefined): 'ndjson' | 'csv' | undefined {
  if (given === undefined || given === 'ndjson' || given === 'csv') return given;
  return fail(`--format ${given}: must be ndjson or csv`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string', multiple: true },
      admin: { type: 'boolean', default: false },
      name: { type: 'string', default: '' },
      format: { type: 'string' },
      tags: { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, 2);
  try {
    await migrate(db);
    if (command === 'migrate') {
      process.stdout.write('migrations applied\n');
    } else if (command === 'rekey' && sub === undefined) {
      const batchSize = values['batch-size'];
      if (!/^[1-9]\d{0,4}$/.test(batchSize)) fail(`--batch-size ${batchSize}: must be 1 to 99999`);
      if (config.secretKeys.current === undefined) fail('rekey needs PUSHCAST_SECRET_KEY: the key every secret is sealed under');
      process.exitCode = await rekey(db, config.secretKeys, Number(batchSize), (line) => process.stdout.write(`${line}\n`));
    } else if (command === 'token' && sub === 'create') {
      const projectIds = (values.project ?? []).map((p) => {
        if (!/^[1-9]\d{0,15}$/.test(p)) fail(`--project ${p}: must be a project id`);
        return Number(p);
      });
      if (!values.admin && projectIds.length === 0) fail('token create needs --project ID (repeatable) or --admin');
      const found = new Set((await listProjects(db, projectIds)).map((p) => p.id));
      const missing = projectIds.find((id) => !found.has(id));
      if (missing !== undefined) fail(`project ${missing} does not exist`);
      const secret = newAccessTokenSecret();
      const record = await insertAccessToken(db, { ...secret, name: values.name, admin: values.admin, projectIds });
      process.stderr.write(
        `token ${record.id} created (${record.admin ? 'admin' : `projects ${record.projectIds.join(', ')}`}); it is shown only once:\n`,
      );
      process.stdout.write(`${secret.token}\n`);
    } else if (command === 'token' && sub === 'list') {
      for (const t of await listAccessTokens(db)) {
        process.stdout.write(
          `${t.id}\t${t.prefix}…\t${t.admin ? 'admin' : `projects=${t.projectIds.join(',')}`}\t${t.name}\t${t.createdAt.toISOString()}\n`,
        );
      }
    } else if (command === 'token' && sub === 'revoke' && arg !== undefined && /^\d+$/.test(arg)) {
      if (!(await revokeAccessToken(db, Number(arg)))) fail(`token ${arg} not found`);
      process.stdout.write(`token ${arg} revoked\n`);
    } else if (command === 'import' && sub !== undefined) {
      const projectId = oneProject(values.project);
      const format = bulkFormat(values.format);
      const path = sub;
      process.exitCode = await withCoreDeps(config, db, (deps) =>
        importCommand(deps, { projectId, path, format, wait: !values['no-wait'] }, fail),
      );
    } else if (command === 'export') {
      await exportCommand(db, { projectId: oneProject(values.project), format: bulkFormat(values.format) ?? 'ndjson', tags: values.tags }, fail);
    } else {
      fail(`unknown command\n${USAGE}`);
    }
  } finally {
    await db.end();
  }
}

await main(process.argv.slice(2));
