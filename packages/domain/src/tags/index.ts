export { type TagExpr, TAG_PATTERN, MAX_TAG_LENGTH } from './ast.ts';
export {
  type TagSyntaxError,
  type TagFilterSyntaxError,
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING_DEPTH,
  parseTagExpression,
  parseTagFilter,
  tagFilterError,
} from './parse.ts';
export { matchesTags } from './evaluate.ts';
