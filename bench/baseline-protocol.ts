/** What the baseline processes share: waiting for the parent's "go", and counting failure reasons. */
import { createInterface, type Interface } from 'node:readline';
import pg from 'pg';

/** Resolves on the first stdin line equal to `word`; exits if stdin closes first. */
export function waitFor(lines: Interface, word: string): Promise<void> {
  return new Promise((resolve) => {
    const onLine = (line: string) => {
      if (line.trim() !== word) return;
      lines.off('line', onLine);
      lines.off('close', onClose);
      resolve();
    };
    const onClose = () => process.exit(0);
    lines.on('line', onLine);
    lines.on('close', onClose);
  });
}

/** A short, stable label for one failed message: the provider's reason, else the error's message. */
export function failureReason(reason: string | undefined, error: unknown): string {
  if (reason) return reason;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // VError chains its causes into the message; the first 100 characters name the failure.
    return typeof code === 'string' ? code : error.message.slice(0, 100);
  }
  return error === undefined ? 'unknown' : String(error).slice(0, 100);
}

export function tally(labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of labels) out[l] = (out[l] ?? 0) + 1;
  return out;
}

/**
 * The protocol's start, shared by the device baselines: connect to PostgreSQL, print
 * {"ready":true}, wait for "go", then (measured from here) load the project's device tokens of
 * `platform`, as a user's script would. Returns when it started, the tokens, and stdin's lines
 * (the process ends when stdin closes).
 */
export async function startWhenToldAndLoadTokens(
  platform: 'apns' | 'fcm',
): Promise<{ started: number; tokens: string[]; lines: Interface }> {
  const env = (k: string) => process.env[k] ?? '';
  const db = new pg.Client({ connectionString: env('DATABASE_URL') });
  await db.connect();
  const lines = createInterface({ input: process.stdin });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await waitFor(lines, 'go');
  const started = performance.now();
  const { rows } = await db.query<{ device_token: string }>(
    `SELECT device_token FROM subscriptions WHERE project_id = $1 AND platform = $2 ORDER BY id LIMIT $3`,
    [env('PROJECT_ID'), platform, Number(env('LIMIT'))],
  );
  await db.end();
  return { started, tokens: rows.map((r) => r.device_token), lines };
}
