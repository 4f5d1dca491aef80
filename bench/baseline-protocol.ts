/** What the baseline processes share: waiting for the parent's "go", and counting failure reasons. */
import type { Interface } from 'node:readline';

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
