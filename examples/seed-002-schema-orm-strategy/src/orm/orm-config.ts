/** Seed 002's ORM choice: `type: 'drizzle' | 'typeorm'`. */
export type OrmType = 'typeorm' | 'drizzle';

/** Seed 002's `OrmConfig`: which ORM the application runs on, chosen at start. */
export interface OrmConfig {
  readonly type: OrmType;
}

/** `ORM=typeorm|drizzle` (default `typeorm`); anything else is refused, naming the choices. */
export function ormConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OrmConfig {
  const type = (env['ORM'] ?? 'typeorm').trim().toLowerCase();
  if (type !== 'typeorm' && type !== 'drizzle') throw new Error(`ORM must be 'typeorm' or 'drizzle', got ${JSON.stringify(env['ORM'])}`);
  return { type };
}
