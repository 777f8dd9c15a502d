import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { setupHarness } from './helpers.js';
import { assertSlug, parseTenantRef, quoteIdent, assertIdent, assertDomain, TenantryError } from '../src/index.js';

const h = await setupHarness();

/** Strings an attacker or a careless caller may pass as a tenant slug or id. */
export const HOSTILE_SLUGS: readonly unknown[] = [
  '',
  ' ',
  '   ',
  '\t',
  '\n',
  'a',
  'ab',
  'a'.repeat(64),
  'a'.repeat(100),
  `x${'-'.repeat(70)}y`,
  "acme'",
  'acme"',
  "acme'; drop table tenantry.tenants; --",
  'acme;',
  'acme--',
  'acme -- comment',
  '--acme',
  'acme/*',
  '/*acme*/',
  'acme\\',
  'acme\u0000',
  'acme\u0000evil',
  'ACME',
  'Acme',
  'acmE',
  ' acme',
  'acme ',
  'ac me',
  'acme\n',
  'acme\r\nx',
  'аcme' /* Cyrillic а */,
  'acmе' /* Cyrillic е */,
  'ａｃｍｅ' /* fullwidth */,
  'acme\u200b' /* zero-width space */,
  'ac\u00ADme' /* soft hyphen */,
  'acmé',
  'ǅungla',
  'ß-corp',
  '🙂acme',
  'acme🙂',
  'pg_catalog',
  'pg-catalog',
  'pg_toast',
  'pg_temp',
  'pg-temp-1',
  'information_schema',
  'tenantry.tenants',
  'public.acme',
  '1acme',
  '-acme',
  'acme-',
  '_acme',
  'acme_',
  'ac_me',
  'ac.me',
  'ac,me',
  'ac:me',
  'ac$me',
  'ac%me',
  'ac&me',
  'ac=me',
  'ac+me',
  '$1',
  '$$acme$$',
  'acme$$; select 1; $$',
  '%s',
  '%00',
  '..',
  '../acme',
  'acme/../../etc',
  '${acme}',
  '{{acme}}',
  '<script>',
  'acme%27',
  '00000000-0000-0000-0000-00000000000g',
  '00000000-0000-0000-0000-0000000000000',
  '{00000000-0000-0000-0000-000000000000}',
  '00000000000000000000000000000000',
  'nul l',
  null,
  undefined,
  42,
  {},
  [],
  ['acme'],
  { slug: 'acme' },
  true,
];

describe('hostile tenant identifiers', () => {
  let queries = 0;
  beforeEach(() => {
    queries = 0;
    const original = pg.Client.prototype.query;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      queries++;
      return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it(`has at least 50 hostile slugs (${HOSTILE_SLUGS.length})`, () => {
    expect(HOSTILE_SLUGS.length).toBeGreaterThanOrEqual(50);
  });

  it('every hostile slug is rejected with INVALID_TENANT_ID by create, get, rename, withTenant, run — before any SQL runs', async () => {
    const tenancy = await h.tenancy();
    const victim = await tenancy.tenants.create({ slug: 'victim', name: 'Victim' });
    queries = 0;
    for (const slug of HOSTILE_SLUGS) {
      const attempts: Promise<unknown>[] = [
        tenancy.tenants.create({ slug: slug as string, name: 'x' }),
        tenancy.tenants.get(slug as string),
        tenancy.tenants.rename(victim.id, slug as string),
        tenancy.tenants.suspend(slug as string),
        tenancy.tenants.delete(slug as string),
        tenancy.withTenant(slug as string, async (db) => db.query('select 1')),
        tenancy.run(slug as string, () => 1),
      ];
      for (const attempt of attempts) {
        const err = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `slug ${JSON.stringify(slug)}`).toBeInstanceOf(TenantryError);
        expect((err as TenantryError).code, `slug ${JSON.stringify(slug)}`).toBe('INVALID_TENANT_ID');
        expect((err as TenantryError).cause).toBeUndefined();
      }
    }
    expect(queries).toBe(0);
    // The victim is untouched.
    expect((await tenancy.tenants.get('victim')).slug).toBe('victim');
  });

  it('validators accept what they should', () => {
    expect(assertSlug('acme')).toBe('acme');
    expect(assertSlug('a1-b2-c3')).toBe('a1-b2-c3');
    expect(assertSlug(`a${'b'.repeat(61)}c`)).toHaveLength(63);
    expect(parseTenantRef('0F3A0000-0000-4000-8000-000000000001')).toEqual({ kind: 'id', value: '0f3a0000-0000-4000-8000-000000000001' });
    expect(parseTenantRef('acme')).toEqual({ kind: 'slug', value: 'acme' });
    expect(quoteIdent('t_abc')).toBe('"t_abc"');
    expect(() => assertIdent('t"x')).toThrow(TenantryError);
    expect(() => assertIdent('pg_x')).toThrow(TenantryError);
    expect(() => quoteIdent('Robert"); drop table x; --')).toThrow(TenantryError);
    expect(assertDomain('App.Acme.COM.')).toBe('app.acme.com');
    for (const bad of ['acme', 'http://acme.com', 'acme.com:80', 'acme.com/x', 'a..com', '-a.com', 'ａ.com', "a'.com", ' a.com', '']) {
      expect(() => assertDomain(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_DOMAIN' }));
    }
  });

  it('hostile names, plans and metadata are stored as data', async () => {
    const tenancy = await h.tenancy();
    const evil = "Robert'); drop table tenantry.tenants; --";
    const t = await tenancy.tenants.create({ slug: 'bobby', name: evil, plan: evil, metadata: { note: evil, nested: { "'": '"' } } });
    const again = await tenancy.tenants.get(t.id);
    expect(again.name).toBe(evil);
    expect(again.plan).toBe(evil);
    expect(again.metadata).toEqual({ note: evil, nested: { "'": '"' } });
    for (const bad of [
      { name: '' },
      { name: 'x'.repeat(201) },
      { name: 'a\u0000b' },
      { name: 42 },
      { name: 'ok', metadata: [] },
      { name: 'ok', metadata: 'x' },
    ]) {
      await expect(tenancy.tenants.create({ slug: 'meta', ...(bad as { name: string }) })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
  });
});
