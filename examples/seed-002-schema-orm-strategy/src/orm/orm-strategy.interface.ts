import type { OrmType } from './orm-config.js';

/** A user of a tenant, the same whichever ORM reads it. */
export interface User {
  readonly id: number;
  readonly name: string;
  readonly email: string;
}

/** What a user is created with. */
export interface NewUser {
  readonly name: string;
  readonly email: string;
}

/**
 * Seed 002's `IOrmStrategy`: the ORM-specific side of the application, behind one interface. The
 * seed's strategies create a connection (a DataSource or a Drizzle database) per tenant; here
 * each one runs its ORM's own queries on one application-wide handle, and Tenantry runs every
 * statement in the schema of the request's tenant.
 */
export interface IOrmStrategy {
  readonly type: OrmType;
  findUsers(): Promise<User[]>;
  findUser(id: number): Promise<User | undefined>;
  /** Throws {@link EmailTakenError} when a user of the tenant has the email. */
  createUser(input: NewUser): Promise<User>;
  /** False when there was no such user. */
  deleteUser(id: number): Promise<boolean>;
}

/** Injection token of the {@link IOrmStrategy} chosen by configuration. */
export const ORM_STRATEGY = Symbol('ORM_STRATEGY');

/** The email is taken in this tenant (`users.email` is UNIQUE). */
export class EmailTakenError extends Error {
  constructor(readonly email: string) {
    super(`a user with email ${email} exists`);
    this.name = 'EmailTakenError';
  }
}

/** Whether `err` (from pg, or wrapped by TypeORM or Drizzle) is a unique violation. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const o = e as { code?: unknown; driverError?: unknown; cause?: unknown };
    if (o.code === '23505') return true;
    e = o.driverError ?? o.cause;
  }
  return false;
}
