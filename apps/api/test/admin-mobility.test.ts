import { describe, expect, it } from 'vitest';
import { HOSTILE_STRING_CASES } from '@tenantry/testing';
import { ADMIN_TOKEN, http, setupApi, tenantWithToken } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;
const admin = { token: ADMIN_TOKEN };

describe('admin API: backup, clone, move, purge-moved', () => {
  it('answers 401 without the admin token and with a tenant token', async () => {
    const { token } = await tenantWithToken(u, 'Mobility Watcher', 'mobility-watcher');
    for (const [method, path, body] of [
      ['GET', '/admin/tenants/mobility-watcher/backup', undefined],
      ['POST', '/admin/tenants/mobility-watcher/clone', { slug: 'stolen' }],
      ['POST', '/admin/tenants/mobility-watcher/move', { isolation: 'database' }],
      ['POST', '/admin/tenants/purge-moved', {}],
    ] as const) {
      expect((await http(u, method, path, body === undefined ? {} : { body })).status, `${method} ${path}`).toBe(401);
      expect((await http(u, method, path, { token, ...(body === undefined ? {} : { body }) })).status, `${method} ${path}`).toBe(401);
    }
  });

  it('streams an archive, clones a tenant, moves it to the database tier and back, with activity entries', async () => {
    await tenantWithToken(u, 'Mobile', 'mobile');
    const res = await fetch(`${u}/admin/tenants/mobile/backup`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 19).toString()).toBe('TENANTRY-ARCHIVE 1\n');
    expect(bytes.subarray(-5)).toEqual(Buffer.from([0x5a, 0, 0, 0, 0]));

    const clone = await http(u, 'POST', '/admin/tenants/mobile/clone', { ...admin, body: { slug: 'mobile-copy', name: 'Copy' } });
    expect(clone.status, JSON.stringify(clone.body)).toBe(201);
    expect(clone.body).toMatchObject({ slug: 'mobile-copy', name: 'Copy', status: 'ACTIVE' });
    const taken = await http(u, 'POST', '/admin/tenants/mobile/clone', { ...admin, body: { slug: 'mobile-copy' } });
    expect(taken.status).toBe(409);

    const moved = await http(u, 'POST', '/admin/tenants/mobile/move', { ...admin, body: { isolation: 'database', retainHours: 0 } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ tenant: { slug: 'mobile', isolation: 'database' }, from: { isolation: 'schema' }, oldCopy: null });
    const same = await http(u, 'POST', '/admin/tenants/mobile/move', { ...admin, body: { isolation: 'database' } });
    expect(same.status).toBe(400);
    const back = await http(u, 'POST', '/admin/tenants/mobile/move', { ...admin, body: { isolation: 'schema', retainHours: 1 } });
    expect(back.status).toBe(200);
    expect(back.body.oldCopy).toEqual(expect.any(String));
    expect((await http(u, 'POST', '/admin/tenants/purge-moved', admin)).body).toEqual({ purged: [] });
    const activity = await http(u, 'GET', '/tenants/mobile/activity', admin);
    expect(activity.status).toBe(200);
    expect(JSON.stringify(activity.body)).toMatch(/"moved"/);
    expect(JSON.stringify(activity.body)).toContain('admin-api');
  });

  it('restores an uploaded archive, streamed, into a new tenant and over the tenant in place', async () => {
    await tenantWithToken(u, 'Restorable', 'restorable');
    const backup = await fetch(`${u}/admin/tenants/restorable/backup`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const archive = Buffer.from(await backup.arrayBuffer());
    const upload = async (path: string, body: Buffer | ReadableStream<Uint8Array>, type = 'application/octet-stream'): Promise<Response> =>
      await fetch(`${u}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type },
        body,
        duplex: 'half',
      } as RequestInit);
    // Sent in pieces, as a stream: the service never needs the whole archive at once.
    const pieces = (bytes: Buffer): ReadableStream<Uint8Array> => {
      let at = 0;
      return new ReadableStream({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          controller.enqueue(new Uint8Array(bytes.subarray(at, at + 4_096)));
          at += 4_096;
        },
      });
    };
    const fresh = await upload('/admin/tenants/restore?slug=restored-one&isolation=database', pieces(archive));
    expect(fresh.status, await fresh.clone().text()).toBe(201);
    expect(await fresh.json()).toMatchObject({ slug: 'restored-one', isolation: 'database', status: 'ACTIVE', name: 'Restorable' });
    expect((await http(u, 'GET', '/tenants/restored-one', admin)).body).toMatchObject({ status: 'ACTIVE', isolation: 'database' });
    const taken = await upload('/admin/tenants/restore?slug=restored-one', archive);
    expect(taken.status).toBe(409);

    const before = (await http(u, 'GET', '/tenants/restorable', admin)).body as Record<string, unknown>;
    const inPlace = await upload('/admin/tenants/restorable/restore', pieces(archive));
    expect(inPlace.status, await inPlace.clone().text()).toBe(200);
    expect(await inPlace.json()).toMatchObject({ id: before['id'], slug: 'restorable', status: 'ACTIVE' });
    expect(JSON.stringify((await http(u, 'GET', '/tenants/restorable/activity', admin)).body)).toMatch(/"restored"/);

    // Refused, leaving nothing: a truncated archive (422), JSON instead of an archive (400), a bad slug (400).
    const truncated = await upload('/admin/tenants/restore?slug=restored-two', archive.subarray(0, archive.length - 100));
    expect(truncated.status).toBe(422);
    expect(await truncated.json()).toMatchObject({ code: 'ARCHIVE_INVALID' });
    expect((await upload('/admin/tenants/restore?slug=restored-two', Buffer.from('{}'), 'application/json')).status).toBe(400);
    expect((await upload('/admin/tenants/restore?slug=Bad..Slug', archive)).status).toBe(400);
    expect((await http(u, 'GET', '/tenants/restored-two', admin)).status).toBe(404);
    const inPlaceBad = await upload('/admin/tenants/restorable/restore', archive.subarray(0, 200));
    expect(inPlaceBad.status).toBe(422);
    expect((await http(u, 'GET', '/tenants/restorable', admin)).body).toMatchObject({ status: 'ACTIVE' });
    // format=pg_dump hands the body to the pg_dump restore, which refuses a Tenantry archive; an unknown format is a 400.
    const wrongFormat = await upload('/admin/tenants/restore?slug=from-dump&format=pg_dump', pieces(archive));
    expect(wrongFormat.status).toBe(422);
    expect(await wrongFormat.json()).toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/is a Tenantry archive/) });
    const wrongInPlace = await upload('/admin/tenants/restorable/restore?format=pg_dump', archive);
    expect(wrongInPlace.status).toBe(422);
    expect((await upload('/admin/tenants/restore?slug=from-dump&format=sql', archive)).status).toBe(400);
    expect((await upload('/admin/tenants/restorable/restore?format=sql', archive)).status).toBe(400);
    expect((await http(u, 'GET', '/tenants/from-dump', admin)).status).toBe(404);
    expect((await http(u, 'GET', '/tenants/restorable', admin)).body).toMatchObject({ status: 'ACTIVE' });
    // Unauthenticated uploads are refused.
    const anon = await fetch(`${u}/admin/tenants/restore?slug=anon-one`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: archive,
    });
    expect(anon.status).toBe(401);
  });

  it('GET /tenants never lists the staging or retained copies of a move', async () => {
    await tenantWithToken(u, 'Listed Mover', 'listed-mover');
    const moved = await http(u, 'POST', '/admin/tenants/listed-mover/move', { ...admin, body: { isolation: 'database', retainHours: 1 } });
    expect(moved.status).toBe(200);
    const { rows } = await h.admin.query('select slug from tenantry.tenants where id = $1', [moved.body.oldCopy]);
    expect(rows[0]?.slug).toMatch(/^tenantry-old-/);
    const slugs: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await http(u, 'GET', `/tenants?limit=100${cursor ? `&cursor=${cursor}` : ''}`, admin);
      expect(page.status).toBe(200);
      slugs.push(...(page.body.items as { slug: string }[]).map((t) => t.slug));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(slugs).toContain('listed-mover');
    expect(slugs.filter((s) => s.startsWith('tenantry-'))).toEqual([]);
    expect((await http(u, 'GET', `/tenants/${moved.body.oldCopy}`, admin)).status).toBe(404);
    expect((await http(u, 'GET', `/tenants/${rows[0]!.slug}`, admin)).status).toBe(404);
  });

  it('refuses hostile slugs, server ids, tiers and retention with 400 before any work', async () => {
    await tenantWithToken(u, 'Hostile Mobile', 'hostile-mobile');
    for (const { family, value } of HOSTILE_STRING_CASES.filter((_, i) => i % 3 === 0)) {
      const what = `${family}: ${JSON.stringify(value.slice(0, 30))}`;
      // A value shaped like a server id that names no server is a 404 SERVER_NOT_FOUND; anything else a 400.
      const refused = (body: Record<string, unknown>): number[] =>
        'server' in body && /^[a-z][a-z0-9-]{0,62}$/.test(value) ? [404] : [400];
      for (const body of [{ slug: value }, { slug: 'fine-copy', server: value }, { slug: 'fine-copy', isolation: value }])
        expect(refused(body), what).toContain((await http(u, 'POST', '/admin/tenants/hostile-mobile/clone', { ...admin, body })).status);
      for (const body of [{ server: value }, { isolation: value }, { retainHours: value }])
        expect(refused(body), what).toContain((await http(u, 'POST', '/admin/tenants/hostile-mobile/move', { ...admin, body })).status);
    }
    expect((await http(u, 'GET', '/admin/tenants/fine-copy', admin)).status).not.toBe(200);
  });
});
