import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { serveExample } from '../../example-http/test-kit/serve-example.js';
import { createOrgsApp } from '../dist/app.js';

const { db, errors, call } = await serveExample((test) => createOrgsApp({ ...test, poolMax: 5 }));

describe('knex-orgs example (real HTTP)', () => {
  it("POST /org/create makes a database per organisation with seed 004's Knex migrations applied", async () => {
    const acme = await call('/org/create', { method: 'POST', body: { name: 'AcmeCorp' } });
    expect(acme).toMatchObject({
      status: 201,
      body: { name: 'AcmeCorp', slug: 'acmecorp', status: 'ACTIVE', schemaVersion: '20250102000000_add_users_created_at' },
    });
    const foobar = await call('/org/create', { method: 'POST', body: { name: 'FooBar' } });
    expect(foobar.status).toBe(201);
    expect((await call('/org/create', { method: 'POST', body: { name: 'AcmeCorp' } })).body).toMatchObject({ code: 'TENANT_EXISTS' });
    expect((await call('/org')).body.map((o: { slug: string }) => o.slug).sort()).toEqual(['acmecorp', 'foobar']);

    // Each organisation is a database of its own, with the users table of the migrations.
    const server = new URL(db.url);
    for (const org of [acme.body, foobar.body]) {
      server.pathname = `/${org.database}`;
      const direct = new pg.Client({ connectionString: server.href });
      await direct.connect();
      try {
        const { rows } = await direct.query<{ c: string }>(
          "select column_name::text as c from information_schema.columns where table_schema = 'public' and table_name = 'users' order by ordinal_position",
        );
        expect(rows.map((r) => r.c)).toEqual(['id', 'name', 'email', 'created_at']);
      } finally {
        await direct.end();
      }
    }
    expect((await call('/org/create', { method: 'POST', body: {} })).status).toBe(400);
  });

  it("each organisation's users live in its own database", async () => {
    const ada = await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Ada', email: 'ada@example.test' } });
    expect(ada).toMatchObject({ status: 201, body: { id: 1, name: 'Ada', email: 'ada@example.test' } });
    expect((await call('/org/foobar/users', { method: 'POST', body: { name: 'Ada (FooBar)', email: 'ada@example.test' } })).status).toBe(
      201,
    );
    expect((await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Ada again', email: 'ada@example.test' } })).status).toBe(
      409,
    );
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada']);
    expect((await call('/org/foobar/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada (FooBar)']);
    // A Knex transaction: all renamed, or none.
    const grace = (await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Grace', email: 'grace@example.test' } })).body
      .id as number;
    expect(
      (
        await call('/org/acmecorp/users/rename', {
          method: 'POST',
          body: {
            changes: [
              { id: 1, name: 'Ada L.' },
              { id: 99, name: 'nobody' },
            ],
          },
        })
      ).status,
    ).toBe(404);
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Grace']);
    expect(
      (
        await call('/org/acmecorp/users/rename', {
          method: 'POST',
          body: {
            changes: [
              { id: 1, name: 'Ada L.' },
              { id: grace, name: 'Grace H.' },
            ],
          },
        })
      ).body,
    ).toEqual({ renamed: 2 });
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada L.', 'Grace H.']);
    expect((await call('/org/nobody-here/users')).body).toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect((await call("/org/x';drop/users")).body).toMatchObject({ code: 'INVALID_TENANT_ID' });
  });

  it('40 concurrent requests over 2 organisations on a pool of 5 each see only their own users', async () => {
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const org = i % 2 === 0 ? 'acmecorp' : 'foobar';
        if (i % 4 < 2)
          expect(
            (await call(`/org/${org}/users`, { method: 'POST', body: { name: `${org} #${i}`, email: `u${i}@${org}.test` } })).status,
          ).toBe(201);
        else
          for (const u of (await call(`/org/${org}/users`)).body as { email: string }[])
            expect(u.email.endsWith(`@${org}.test`) || u.email === 'ada@example.test' || u.email === 'grace@example.test').toBe(true);
      }),
    );
    expect((await call('/org/acmecorp/users')).body.filter((u: { email: string }) => u.email.endsWith('@acmecorp.test'))).toHaveLength(10);
    expect((await call('/org/foobar/users')).body.filter((u: { email: string }) => u.email.endsWith('@foobar.test'))).toHaveLength(10);
    expect(errors).toEqual([]);
  });
});
