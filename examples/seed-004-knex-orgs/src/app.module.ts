import { fileURLToPath } from 'node:url';
import { Module, type DynamicModule } from '@nestjs/common';
import { knexMigrations } from '@tenantry/knex';
import { TenantryKnexModule } from '@tenantry/knex/nestjs';
import { describedResolver, TenancyModule } from '@tenantry/nestjs';
import { OrgModule } from './org/org.module.js';
import { UsersModule } from './users/users.module.js';

/** Seed 004's Knex migrations folder, beside `dist/` (this file is `dist/app.module.js`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** `/org/acmecorp/users…` → `acmecorp`; other paths carry no organisation. */
export const orgFromPath = describedResolver('path /org/:org/users', (req) => {
  const match = /^\/org\/([^/?#]+)\/users(?:[/?#]|$)/.exec(req.url ?? req.originalUrl ?? '');
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]; // not percent-decodable: Tenantry refuses it as INVALID_TENANT_ID
  }
});

export interface AppOptions {
  /** Tenantry's registry, seed 004's `master` database; organisation databases are made on the same server. */
  readonly registryUrl: string;
  /** Connections per server, for all organisations together. Default 10. */
  readonly poolMax?: number;
}

/**
 * Seed 004's `AppModule`, with Tenantry: `TenancyModule` (the registry, database-per-tenant
 * provisioning, the Knex migrations, the organisation of each request) and
 * `TenantryKnexModule` (`@InjectKnex()`).
 */
@Module({})
export class AppModule {
  static forRoot({ registryUrl, poolMax = 10 }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TenancyModule.forRoot({
          registryUrl,
          migrations: knexMigrations(MIGRATIONS_DIR),
          defaultIsolation: 'database',
          resolvers: [orgFromPath],
          pool: { max: poolMax },
          applicationName: 'seed-004-knex-orgs',
        }),
        TenantryKnexModule.forRoot(),
        OrgModule,
        UsersModule,
      ],
    };
  }
}
