export { createDb, ensureDatabase, inTransaction, quoteIdentifier, type Db, type Queryable } from './db.ts';
export { migrate, migrationsApplied, listMigrations } from './migrate.ts';
export { SqlParams } from './sql-params.ts';
export { tagExprToSql } from './tag-sql.ts';
export * from './senders.ts';
export * from './projects.ts';
export * from './subscriptions.ts';
export * from './access-tokens.ts';
