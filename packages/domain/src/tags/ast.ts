/**
 * A parsed Pushpad tag expression. `and`/`or` are n-ary and kept flat (no `and` directly inside an
 * `and`), so that the SQL compiler can merge sibling tags into a single GIN-indexable array test.
 */
export type TagExpr =
  | { kind: 'tag'; tag: string }
  | { kind: 'not'; expr: TagExpr }
  | { kind: 'and'; items: TagExpr[] }
  | { kind: 'or'; items: TagExpr[] };

/**
 * Pushpad's tag alphabet, with Pusher Beams' interest characters (`=`, `,`, `;`): a Beams interest
 * is a Pushcast tag. `:` is part of a tag (`zip_code:28865`), not syntax.
 */
export const TAG_PATTERN = /^[A-Za-z0-9_\-.:@#=,;]+$/;

/** Beams' interests are up to 164 characters. */
export const MAX_TAG_LENGTH = 164;
