import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';

const h = await setupHarness();

describe('smoke', () => {
  it('creates a tenant and routes a query to its schema', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
    expect(t.status).toBe('ACTIVE');
    expect(t.schemaVersion).toBe('0002_add_owner');
    await tenancy.withTenant('acme', async (db) => {
      await db.query('insert into posts (title) values ($1)', ['hello']);
      const { rows } = await db.query<{ title: string }>('select title from posts');
      expect(rows).toEqual([{ title: 'hello' }]);
      const sp = await db.query<{ p: string }>('select current_setting($1) as p', ['search_path']);
      expect(sp.rows[0]!.p).toBe(`"${t.physicalName}", pg_temp`);
    });
  });
});
