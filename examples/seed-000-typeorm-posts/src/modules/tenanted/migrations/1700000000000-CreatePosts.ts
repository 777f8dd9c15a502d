import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seed 000's `CreatePostsTable`, as `typeorm migration:generate` writes it. `typeormMigrations()`
 * records its statements once; Tenantry runs them in each tenant's schema (first on the
 * search_path) and keeps a ledger per tenant. `gen_random_uuid()` is built into PostgreSQL 13+,
 * so no `uuid-ossp` extension is needed in the schema.
 */
export class CreatePosts1700000000000 implements MigrationInterface {
  name = 'CreatePosts1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "posts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "title" character varying NOT NULL, "content" text NOT NULL, "published" boolean NOT NULL DEFAULT false, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_posts_id" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_posts_published_createdAt" ON "posts" ("published", "createdAt")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_posts_published_createdAt"`);
    await queryRunner.query(`DROP TABLE "posts"`);
  }
}
