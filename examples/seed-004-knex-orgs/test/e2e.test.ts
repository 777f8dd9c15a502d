import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { serve } from './serve.js';

const { call, db } = await serve(5);

describe("seed 004 on Tenantry: POST /org/create and each organisation's users, over real HTTP", () => {
  it('POST /org/create makes a database per organisation with the Knex migrations applied', async () => {
    // Seed 004's request, as its README sends it.
    const acme = await call('/org/create', { method: 'POST', body: { name: 'AcmeCorp' } });
    expect(acme).toMatchObject({
      status: 201,
      body: { name: 'AcmeCorp', slug: 'acmecorp', status: 'ACTIVE', schemaVersion: '20250102000000_add_users_created_at' },
    });
    // Tenantry's generated database name, not seed 004's tenant_acmecorp (caller-chosen names: issue 14, item 2).
    expect(acme.body.database).toBe(`t_${acme.body.id.replaceAll('-', '')}`);
    const foobar = await call('/org/create', { method: 'POST', body: { name: 'FooBar' } });
    expect(foobar.status).toBe(201);
    expect(await call('/org/create', { method: 'POST', body: { name: 'AcmeCorp' } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    expect((await call('/org')).body.map((o: { slug: string }) => o.slug).sort()).toEqual(['acmecorp', 'foobar']);

    // Each organisation is a database of its own on the server, with the users table of the migrations.
    for (const org of [acme.body, foobar.body]) {
      const direct = new pg.Client({ connectionString: db.urlFor(org.database, inject('tenantryAdminUrl')) });
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
    expect(await call('/org/create', { method: 'POST', body: {} })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call('/org/create', { method: 'POST', body: { name: 'x', slug: "x'; drop database master;--" } })).toMatchObject({
      status: 400,
    });
  });

  it("each organisation's users live in its own database; a rename is all or nothing", async () => {
    const ada = await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Ada', email: 'ada@example.test' } });
    expect(ada).toMatchObject({ status: 201, body: { id: 1, name: 'Ada', email: 'ada@example.test' } });
    expect((await call('/org/foobar/users', { method: 'POST', body: { name: 'Ada (FooBar)', email: 'ada@example.test' } })).status).toBe(
      201,
    );
    expect(await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Ada again', email: 'ada@example.test' } })).toMatchObject({
      status: 409,
      body: { code: 'USER_EXISTS' },
    });
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada']);
    expect((await call('/org/foobar/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada (FooBar)']);

    const grace = (await call('/org/acmecorp/users', { method: 'POST', body: { name: 'Grace', email: 'grace@example.test' } })).body
      .id as number;
    const rename = (changes: { id: number; name: string }[]) => call('/org/acmecorp/users/rename', { method: 'POST', body: { changes } });
    expect(
      await rename([
        { id: 1, name: 'Ada L.' },
        { id: 99, name: 'nobody' },
      ]),
    ).toMatchObject({ status: 404, body: { code: 'USER_NOT_FOUND' } });
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Grace']);
    expect(
      await rename([
        { id: 1, name: 'Ada L.' },
        { id: grace, name: 'Grace H.' },
      ]),
    ).toEqual({ status: 200, body: { renamed: 2 } });
    expect((await call('/org/acmecorp/users')).body.map((u: { name: string }) => u.name)).toEqual(['Ada L.', 'Grace H.']);
    expect((await call('/org/acmecorp/users/rename', { method: 'POST', body: { changes: [{ id: 'x' }] } })).status).toBe(400);

    expect(await call('/org/nobody-here/users')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(await call("/org/x';drop/users")).toMatchObject({ status: 400, body: { code: 'INVALID_TENANT_ID' } });
    expect((await call('/org/acmecorp/users', { method: 'POST', body: { name: 'No email' } })).status).toBe(400);
  });

  it('40 concurrent requests over 2 organisations on a pool of 5 each see only their own users', async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const org = i % 2 === 0 ? 'acmecorp' : 'foobar';
        if (i % 4 < 2)
          return await call(`/org/${org}/users`, { method: 'POST', body: { name: `${org} #${i}`, email: `u${i}@${org}.test` } });
        const reply = await call(`/org/${org}/users`);
        for (const u of reply.body as { email: string }[])
          expect(u.email.endsWith(`@${org}.test`) || u.email.endsWith('@example.test')).toBe(true);
        return reply;
      }),
    );
    expect(replies.map((r) => r.status).filter((s) => s >= 300)).toEqual([]);
    expect((await call('/org/acmecorp/users')).body.filter((u: { email: string }) => u.email.endsWith('@acmecorp.test'))).toHaveLength(10);
    expect((await call('/org/foobar/users')).body.filter((u: { email: string }) => u.email.endsWith('@foobar.test'))).toHaveLength(10);
  });
});
