import type { SecretKeyring } from '@pushcast/domain';
import { rekeySecrets, type Db, type RekeyEvent, type SealedTableName } from '@pushcast/store';

/** What each table holds, in the operator's words. */
const WHAT: Record<SealedTableName, string> = {
  project_credentials: 'provider credentials',
  senders: 'VAPID private keys',
  webhook_secrets: 'webhook signing secrets',
  project_secret_keys: 'project secret keys',
  pushcast_secrets: 'sealed secrets Pushcast made for itself (the open-tracking key)',
};

/** Progress lines at most this often per table (besides the first, waits, problems and the end). */
const PROGRESS_EVERY_MS = 1_000;

/**
 * `pushcast rekey`: re-seals every secret under the current key and prints what it does, never a
 * secret (key ids are 16 hex digits of a key's SHA-256). Returns the exit code: 0 when everything is
 * under the current key, 1 when some values could not be opened (they are listed and left as they are).
 */
export async function rekey(db: Db, ring: SecretKeyring, batchSize: number, print: (line: string) => void): Promise<number> {
  const previous = [...ring.byId.keys()].filter((id) => id !== ring.currentId);
  print(`rekey: sealing under key ${ring.currentId}; opening with ${previous.length > 0 ? `previous keys ${previous.join(', ')}` : 'no previous key'}; batches of ${batchSize}`);
  let lastProgress = 0;
  const onEvent = (e: RekeyEvent) => {
    switch (e.kind) {
      case 'start':
        print(`${e.table}: ${e.total} ${WHAT[e.table]}, ${e.stale} not under the current key`);
        lastProgress = Date.now();
        return;
      case 'batch':
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          print(`${e.table}: ${e.resealed} re-sealed so far`);
          lastProgress = Date.now();
        }
        return;
      case 'waiting':
        if (e.passes === 1 || e.passes % 10 === 0) {
          print(`${e.table}: ${e.remaining} still not under the current key (a row another transaction holds, or one written since under an old key); walking the table again`);
        }
        return;
      case 'unreadable':
        print(`${e.secret.table}: ${e.secret.row} cannot be opened (${e.secret.reason}); left as it is`);
        return;
      case 'done':
        print(`${e.table}: done, ${e.resealed} re-sealed, ${e.alreadyCurrent} already under the current key`);
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown rekey event ${JSON.stringify(never)}`);
      }
    }
  };
  const summary = await rekeySecrets(db, ring, { batchSize, onEvent });
  const perTable = Object.entries(summary.tables)
    .map(([table, t]) => `${table} ${t.resealed}`)
    .join(', ');
  print(`rekey done: ${summary.resealed} secrets re-sealed under key ${ring.currentId} (${perTable})`);
  if (summary.unreadable.length > 0) {
    print(
      `${summary.unreadable.length} could not be opened: give the key they were sealed under in PUSHCAST_SECRET_KEY_PREVIOUS ` +
        'and run rekey again (or set them again through the API); keep the previous keys until then',
    );
    return 1;
  }
  return 0;
}
