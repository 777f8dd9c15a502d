import { pgTable, serial, varchar } from 'drizzle-orm/pg-core';

/**
 * `users` (migrations/0001_create_users.sql) as a Drizzle table: `pgTable()`, no `pgSchema()` —
 * Tenantry puts each statement in the tenant's schema.
 */
export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull(),
  email: varchar('email', { length: 255 }).notNull().unique(),
});
