import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { serveExample } from '../../example-http/test-kit/serve-example.js';
import { createJournalApp } from '../dist/app.js';

// Two cached clients for three companies: the LRU evicts under traffic.
const { errors, call } = await serveExample((test) => createJournalApp({ ...test, poolMax: 5, maxClients: 2 }));

const sale = (amount: string, description = 'Cash sale') => ({
  date: '2025-01-15',
  description,
  lines: [
    { account: '1000', debit: amount },
    { account: '4000', credit: amount },
  ],
});

describe('prisma-journal example (real HTTP)', () => {
  it('provisions a database per company with migrations and the chart of accounts, the company in the path', async () => {
    const a = await call('/tenants', { method: 'POST', body: { slug: 'pt-company-a', name: 'PT Company A' } });
    expect(a).toMatchObject({
      status: 201,
      body: { slug: 'pt-company-a', isolation: 'database', status: 'ACTIVE', schemaVersion: '20250101000000_init' },
    });
    expect((await call('/tenants', { method: 'POST', body: { slug: 'pt-company-b', name: 'PT Company B' } })).status).toBe(201);
    expect((await call('/tenants', { method: 'POST', body: { slug: 'admin', name: 'Admin' } })).status).toBe(400);
    const accounts = await call('/pt-company-a/accounts');
    expect(accounts.status).toBe(200);
    expect(accounts.body.map((x: { code: string; type: string }) => `${x.code}:${x.type}`)).toEqual([
      '1000:ASSET',
      '1100:ASSET',
      '2000:LIABILITY',
      '3000:EQUITY',
      '4000:REVENUE',
      '5000:EXPENSE',
    ]);
    expect((await call('/health')).body).toMatchObject({ status: 'ok' });
  });

  it("records balanced entries in the company's own database, refusing unbalanced ones and unknown accounts", async () => {
    const entry = await call('/pt-company-a/journals', { method: 'POST', body: sale('150.25') });
    expect(entry).toMatchObject({
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
    await call('/pt-company-a/journals', {
      method: 'POST',
      body: {
        date: '2025-01-31',
        description: 'January rent',
        lines: [
          { account: '5000', debit: 1000 },
          { account: '1000', credit: '1000.00' },
        ],
      },
    });
    expect(
      await call('/pt-company-a/journals', {
        method: 'POST',
        body: {
          ...sale('10'),
          lines: [
            { account: '1000', debit: '10' },
            { account: '4000', credit: '9.99' },
          ],
        },
      }),
    ).toMatchObject({ status: 400, body: { message: expect.stringContaining('does not balance') } });
    expect(
      await call('/pt-company-a/journals', {
        method: 'POST',
        body: {
          ...sale('10'),
          lines: [
            { account: '1000', debit: '10' },
            { account: '9999', credit: '10' },
          ],
        },
      }),
    ).toMatchObject({ status: 400, body: { message: expect.stringContaining('9999') } });
    expect((await call('/pt-company-a/journals')).body.map((e: { description: string }) => e.description)).toEqual([
      'Cash sale',
      'January rent',
    ]);
    expect((await call('/pt-company-a/trial-balance')).body).toEqual([
      { account: '1000', debit: '150.25', credit: '1000.00' },
      { account: '4000', debit: '0.00', credit: '150.25' },
      { account: '5000', debit: '1000.00', credit: '0.00' },
    ]);
    // Company B's database has none of it.
    expect((await call('/pt-company-b/journals')).body).toEqual([]);
    expect((await call('/pt-company-b/journals/1')).status).toBe(404);
    expect((await call('/pt-company-a/journals/1')).body.description).toBe('Cash sale');
    expect((await call('/nobody-here/accounts')).body).toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect((await call('/Not_A_Slug!/accounts')).body).toMatchObject({ code: 'INVALID_TENANT_ID' });
  });

  it('60 concurrent requests over 3 companies with 2 cached clients: each sees only its own entries', async () => {
    await call('/tenants', { method: 'POST', body: { slug: 'pt-company-c', name: 'PT Company C' } });
    const slugs = ['pt-company-a', 'pt-company-b', 'pt-company-c'];
    const before = await Promise.all(slugs.map(async (s) => (await call(`/${s}/journals`)).body.length as number));
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = slugs[i % 3]!;
        if (i % 2 === 0) expect((await call(`/${s}/journals`, { method: 'POST', body: sale('1.00', `${s} #${i}`) })).status).toBe(201);
        else
          for (const e of (await call(`/${s}/journals`)).body as { description: string }[])
            expect(e.description.startsWith(`${s} #`) || ['Cash sale', 'January rent'].includes(e.description)).toBe(true);
      }),
    );
    for (const [i, s] of slugs.entries()) {
      const entries = (await call(`/${s}/journals`)).body as { description: string }[];
      expect(entries.length).toBe(before[i]! + 10);
    }
    const stats = (await call('/admin/stats')).body;
    expect(stats.prismaClients).toMatchObject({ maxClients: 2 });
    expect(stats.prismaClients.clients).toBeLessThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it('the committed generated client matches prisma/schema.prisma and the installed Prisma', async () => {
    const require = createRequire(import.meta.url);
    const schema = await readFile(new URL('../prisma/schema.prisma', import.meta.url), 'utf8');
    const generated = await readFile(new URL('../src/generated/prisma/internal/class.ts', import.meta.url), 'utf8');
    const config = /const config: runtime\.GetPrismaClientConfig = (\{[\s\S]*?\n\})\n/.exec(generated);
    const { inlineSchema, clientVersion } = JSON.parse(config![1]!) as { inlineSchema: string; clientVersion: string };
    expect(inlineSchema, 'run `npm run -w examples/prisma-journal prisma:generate`').toBe(schema);
    expect(clientVersion).toBe((require('prisma/package.json') as { version: string }).version);
  });
});
