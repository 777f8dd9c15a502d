import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tenant databases' schema, as `typeorm migration:generate` writes it. `typeormMigrations()`
 * records its statements once; Tenantry runs them in every tenant database (in `public`) and
 * keeps a ledger per database — what the seed's `schemaVersion` and `lastMigrationAt` report.
 */
export class CreateCustomers1700000000000 implements MigrationInterface {
  name = 'CreateCustomers1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "customers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying NOT NULL, "email" character varying NOT NULL, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_customers_email" UNIQUE ("email"), CONSTRAINT "PK_customers_id" PRIMARY KEY ("id"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "customers"`);
  }
}
