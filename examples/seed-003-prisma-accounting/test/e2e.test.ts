import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { serve } from './serve.js';

// Two cached Prisma clients for three companies: the LRU evicts under traffic.
const { call, db } = await serve({ poolMax: 5, maxClients: 2 });

const CHART = [
  '1000:ASSET',
  '1100:ASSET',
  '1200:ASSET',
  '1300:ASSET',
  '1400:ASSET',
  '1500:ASSET',
  '2000:LIABILITY',
  '2100:LIABILITY',
  '2200:LIABILITY',
  '3000:EQUITY',
  '3100:EQUITY',
  '4000:REVENUE',
  '4100:REVENUE',
  '5000:EXPENSE',
  '6000:EXPENSE',
  '6100:EXPENSE',
];

const sale = (amount: string, description = 'Cash sale') => ({
  date: '2025-01-15',
  description,
  lines: [
    { account: '1000', debit: amount },
    { account: '4000', credit: amount },
  ],
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call(path, { method: 'POST', body, headers });

describe('seed 003 on Tenantry: NestJS + Prisma, a database per company, /:tenantSlug/... (real HTTP)', () => {
  it('POST /tenants provisions a database per company with the migrations and the seeded chart of accounts', async () => {
    const a = await post('/tenants', { slug: 'pt-company-a', name: 'PT Company A' }, { 'x-actor': 'ops@nusa.test' });
    expect(a).toMatchObject({
      status: 201,
      body: {
        slug: 'pt-company-a',
        plan: 'STARTER',
        limits: { users: 3, accounts: 30 },
        status: 'ACTIVE',
        schemaVersion: '20250101000000_init',
      },
    });
    expect(a.body.database).toBe(`t_${a.body.id.replaceAll('-', '')}`);
    const b = await post('/tenants', { slug: 'pt-company-b', name: 'PT Company B', plan: 'BUSINESS' });
    expect(b).toMatchObject({ status: 201, body: { plan: 'BUSINESS', limits: { users: 25, accounts: 200 } } });

    expect(await post('/tenants', { slug: 'pt-company-a', name: 'Again' })).toMatchObject({ status: 409, body: { code: 'TENANT_EXISTS' } });
    expect(await post('/tenants', { slug: 'admin', name: 'Admin' })).toMatchObject({ status: 400, body: { code: 'RESERVED_SLUG' } });
    expect(await post('/tenants', { slug: 'pt-gold', name: 'Gold', plan: 'GOLD' })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED' },
    });
    expect(await post('/tenants', { slug: "x'; drop database nusa_journal_registry;--", name: 'X' })).toMatchObject({ status: 400 });
    expect((await call('/tenants')).body.map((c: { slug: string }) => c.slug).sort()).toEqual(['pt-company-a', 'pt-company-b']);
    expect((await call('/tenants/pt-company-b')).body).toMatchObject({ name: 'PT Company B', plan: 'BUSINESS' });

    // The chart of accounts is there from the start, over HTTP and in the company's own database.
    const chart = await call('/pt-company-a/accounts');
    expect(chart.status).toBe(200);
    expect(chart.body.map((x: { code: string; type: string }) => `${x.code}:${x.type}`)).toEqual(CHART);
    for (const company of [a.body, b.body]) {
      const direct = new pg.Client({ connectionString: db.urlFor(company.database, inject('tenantryAdminUrl')) });
      await direct.connect();
      try {
        const { rows } = await direct.query<{ n: number }>('select count(*)::int as n from accounts');
        expect(rows[0]!.n).toBe(CHART.length);
      } finally {
        await direct.end();
      }
    }
  });

  it("each company's users and journal live in its own database", async () => {
    expect(await post('/pt-company-a/users', { email: 'sari@example.test', name: 'Sari', role: 'ADMIN' })).toMatchObject({
      status: 201,
      body: { id: 1, email: 'sari@example.test', name: 'Sari', role: 'ADMIN' },
    });
    // The same email in the other company: another database, no conflict.
    expect((await post('/pt-company-b/users', { email: 'sari@example.test', name: 'Sari (B)' })).body).toMatchObject({
      id: 1,
      role: 'ACCOUNTANT',
    });
    expect(await post('/pt-company-a/users', { email: 'sari@example.test', name: 'Again' })).toMatchObject({
      status: 409,
      body: { code: 'USER_EXISTS' },
    });
    expect((await call('/pt-company-a/users')).body.map((u: { name: string }) => u.name)).toEqual(['Sari']);
    expect((await call('/pt-company-b/users')).body.map((u: { name: string }) => u.name)).toEqual(['Sari (B)']);
    expect(await post('/pt-company-a/users', { email: 'not-an-email', name: 'X' })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED' },
    });

    expect(await post('/pt-company-a/journals', sale('150.25'))).toMatchObject({
      status: 201,
      body: {
        id: 1,
        date: '2025-01-15',
        lines: [
          { account: '1000', debit: '150.25', credit: '0.00' },
          { account: '4000', debit: '0.00', credit: '150.25' },
        ],
      },
    });
    const unbalanced = {
      ...sale('10'),
      lines: [
        { account: '1000', debit: '10' },
        { account: '4000', credit: '9.99' },
      ],
    };
    expect(await post('/pt-company-a/journals', unbalanced)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ENTRY', message: expect.stringContaining('does not balance') },
    });
    const unknownAccount = {
      ...sale('10'),
      lines: [
        { account: '1000', debit: '10' },
        { account: '9999', credit: '10' },
      ],
    };
    expect(await post('/pt-company-a/journals', unknownAccount)).toMatchObject({
      status: 400,
      body: { message: 'unknown account(s): 9999' },
    });
    expect((await call('/pt-company-a/trial-balance')).body).toEqual([
      { account: '1000', debit: '150.25', credit: '0.00' },
      { account: '4000', debit: '0.00', credit: '150.25' },
    ]);
    expect((await call('/pt-company-a/journals/1')).body.description).toBe('Cash sale');
    expect((await call('/pt-company-b/journals')).body).toEqual([]);
    expect(await call('/pt-company-b/journals/1')).toMatchObject({ status: 404, body: { code: 'ENTRY_NOT_FOUND' } });
  });

  it("the plan's limits are enforced with 402 PLAN_LIMIT_REACHED naming plan and limit, exactly under concurrency; an upgrade lifts them", async () => {
    expect((await post('/tenants', { slug: 'pt-company-c', name: 'PT Company C', plan: 'STARTER' })).status).toBe(201);
    // Six users at once on a plan of three: three are created, three refused, whatever the interleaving.
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post('/pt-company-c/users', { email: `u${i}@c.test`, name: `User ${i}` })),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 201, 201, 402, 402, 402]);
    expect(attempts.find((r) => r.status === 402)!.body).toEqual({
      statusCode: 402,
      code: 'PLAN_LIMIT_REACHED',
      message: 'the STARTER plan allows 3 users and this company has 3; the BUSINESS plan allows 25',
    });
    expect((await call('/pt-company-c/users')).body).toHaveLength(3);

    // Accounts: 16 seeded, 30 on STARTER — 15 asked at once, 14 fit.
    const accounts = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        post('/pt-company-c/accounts', { code: String(7000 + i), name: `Expense ${i}`, type: 'EXPENSE' }),
      ),
    );
    expect(accounts.filter((r) => r.status === 201)).toHaveLength(14);
    expect(accounts.filter((r) => r.status === 402).map((r) => r.body.message)).toEqual([
      'the STARTER plan allows 30 accounts and this company has 30; the BUSINESS plan allows 200',
    ]);
    expect((await call('/pt-company-c/plan')).body).toEqual({
      plan: 'STARTER',
      limits: { users: 3, accounts: 30 },
      usage: { users: 3, accounts: 30 },
    });
    // Company A, also STARTER, is not affected by C's usage.
    expect((await post('/pt-company-a/users', { email: 'budi@example.test', name: 'Budi' })).status).toBe(201);

    // The upgrade is the registry's plan field; the next request sees it.
    expect(
      await call('/tenants/pt-company-c', { method: 'PATCH', body: { plan: 'BUSINESS' }, headers: { 'x-actor': 'billing' } }),
    ).toMatchObject({
      status: 200,
      body: { plan: 'BUSINESS', limits: { users: 25, accounts: 200 } },
    });
    expect((await post('/pt-company-c/users', { email: 'u6@c.test', name: 'User 6' })).status).toBe(201);
    expect((await call('/pt-company-c/plan')).body).toMatchObject({ plan: 'BUSINESS', usage: { users: 4 } });
    // Back to STARTER with 4 users: nobody is removed, nobody more is added.
    await call('/tenants/pt-company-c', { method: 'PATCH', body: { plan: 'STARTER' } });
    expect((await post('/pt-company-c/users', { email: 'u7@c.test', name: 'User 7' })).body.message).toBe(
      'the STARTER plan allows 3 users and this company has 4; the BUSINESS plan allows 25',
    );
    expect((await call('/pt-company-c/users/1', { method: 'DELETE' })).status).toBe(204);
    expect((await post('/pt-company-c/users', { email: 'u7@c.test', name: 'User 7' })).status).toBe(402);
  });

  it("the company's activity log over HTTP: provisioning, plan changes and a suspension, with who asked", async () => {
    expect(await post('/tenants/pt-company-c/suspend', {}, { 'x-actor': 'ops@nusa.test' })).toMatchObject({
      status: 200,
      body: { status: 'SUSPENDED' },
    });
    expect(await call('/pt-company-c/users')).toMatchObject({ status: 403, body: { code: 'TENANT_SUSPENDED' } });
    expect((await post('/tenants/pt-company-c/resume', {})).status).toBe(200);
    expect((await call('/pt-company-c/users')).status).toBe(200);

    const log = await call('/tenants/pt-company-c/activity');
    expect(log.status).toBe(200);
    expect(log.body.map((e: { action: string; toStatus: string | null; actor: string | null }) => [e.action, e.toStatus, e.actor])).toEqual(
      [
        ['create', 'PROVISIONING', null],
        ['provisioned', 'ACTIVE', null],
        ['update', 'ACTIVE', 'billing'],
        ['update', 'ACTIVE', null],
        ['suspend', 'SUSPENDED', 'ops@nusa.test'],
        ['resume', 'ACTIVE', null],
      ],
    );
    expect((await call('/tenants/pt-company-a/activity')).body[0]).toMatchObject({ action: 'create', actor: 'ops@nusa.test' });
    expect(await call('/tenants/nobody-here/activity')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
  });

  it('the first path segment is the company; health, admin and auth/* are nobody’s; unknown and hostile slugs', async () => {
    expect(await call('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await call('/admin/stats')).body.prismaClients).toMatchObject({ maxClients: 2 });
    // The seed's excluded auth/* routes are not read as a company named "auth" (this example has none of them).
    expect(await post('/auth/login', {})).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await call('/nobody-here/users')).toEqual({
      status: 404,
      body: {
        statusCode: 404,
        code: 'TENANT_NOT_FOUND',
        message: "no tenant 'nobody-here' (the first segment of the path names the tenant: /<tenant>/…)",
      },
    });
    for (const slug of ['PT-COMPANY-A', "pt-company-a'--", 'pt-company-a%00', 'pt-company-a%2Fpt-company-b']) {
      expect(await call(`/${slug}/users`), slug).toMatchObject({ status: 400, body: { code: 'INVALID_TENANT_ID' } });
    }
  });

  it('40 concurrent requests over 3 companies with 2 cached clients: each sees only its own entries', async () => {
    const slugs = ['pt-company-a', 'pt-company-b', 'pt-company-c'];
    const before = await Promise.all(slugs.map(async (s) => (await call(`/${s}/journals`)).body.length as number));
    const replies = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const s = slugs[i % 3]!;
        if (i % 2 === 0) return await post(`/${s}/journals`, sale('1.00', `${s} #${i}`));
        const reply = await call(`/${s}/journals`);
        for (const e of reply.body as { description: string }[])
          expect(e.description.startsWith(`${s} #`) || e.description === 'Cash sale').toBe(true);
        return reply;
      }),
    );
    expect(replies.map((r) => r.status).filter((s) => s >= 300)).toEqual([]);
    for (const [i, s] of slugs.entries()) {
      const mine = Array.from({ length: 40 }, (_, j) => j).filter((j) => j % 3 === i && j % 2 === 0).length;
      expect((await call(`/${s}/journals`)).body).toHaveLength(before[i]! + mine);
    }
    const stats = (await call('/admin/stats')).body;
    expect(stats.prismaClients.clients).toBeLessThanOrEqual(2);
  });

  it('the committed generated client matches prisma/schema.prisma and the installed Prisma', async () => {
    const require = createRequire(import.meta.url);
    const schema = await readFile(new URL('../prisma/schema.prisma', import.meta.url), 'utf8');
    const generated = await readFile(new URL('../src/generated/prisma/internal/class.ts', import.meta.url), 'utf8');
    const config = /const config: runtime\.GetPrismaClientConfig = (\{[\s\S]*?\n\})\n/.exec(generated);
    const { inlineSchema, clientVersion } = JSON.parse(config![1]!) as { inlineSchema: string; clientVersion: string };
    expect(inlineSchema, 'run `npm run -w examples/seed-003-prisma-accounting prisma:generate`').toBe(schema);
    expect(clientVersion).toBe((require('prisma/package.json') as { version: string }).version);
  });
});
