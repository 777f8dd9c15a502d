import { SLUG_PATTERN } from '@tenantry/core';

/**
 * A slug from a display name: `Tenant A` → `tenant-a`, `Café Zürich` → `cafe-zurich`.
 * Returns undefined when nothing usable is left (the caller then asks for a slug).
 */
export function slugify(name: string): string | undefined {
  let slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (/^[0-9]/.test(slug)) slug = `t-${slug}`;
  slug = slug.slice(0, 63).replace(/-+$/, '');
  if (slug.startsWith('pg-')) slug = `t-${slug}`.slice(0, 63).replace(/-+$/, '');
  return SLUG_PATTERN.test(slug) ? slug : undefined;
}
