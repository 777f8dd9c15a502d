import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type Parameter = Extract<NonNullable<Operation['parameters']>[number], { in: string }>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Tags of the routes that run in a tenant: they get the tenant header and a `/t/{slug}` twin. */
const TENANT_TAG = /^tenant:/;

const TENANT_HEADER: Parameter = {
  name: 'x-tenant-id',
  in: 'header',
  required: false,
  description:
    'The tenant: its id (uuid) or slug. Or call the same route under /t/{slug}/, or on <slug>.<TENANTRY_BASE_DOMAIN>, or on a custom domain of the tenant. Without any: 400 TENANT_REQUIRED.',
  schema: { type: 'string', example: 'tenant-a' },
};

const SLUG_PARAMETER: Parameter = {
  name: 'slug',
  in: 'path',
  required: true,
  description: 'The tenant: its slug (or id).',
  schema: { type: 'string', example: 'tenant-a' },
};

function operations(doc: OpenAPIObject): { path: string; method: string; op: Operation }[] {
  const out: { path: string; method: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op !== undefined) out.push({ path, method, op });
    }
  }
  return out;
}

/** Header parameters named alike (`Idempotency-Key` and `idempotency-key`) are one header: keep the described one. */
function dedupeHeaders(op: Operation): void {
  const params = (op.parameters ?? []) as Parameter[];
  const kept = new Map<string, Parameter>();
  const rest: Parameter[] = [];
  for (const p of params) {
    if (p.in !== 'header') {
      rest.push(p);
      continue;
    }
    const key = p.name.toLowerCase();
    const prior = kept.get(key);
    if (prior === undefined || (prior.description === undefined && p.description !== undefined)) kept.set(key, { ...p, name: key });
  }
  op.parameters = [...[...kept.values()], ...rest];
}

/**
 * The reference API's OpenAPI document, as `/docs-json` serves it: Nest's scan of the
 * controllers, then what a scan cannot see —
 * - the security schemes: the admin token is an opaque bearer token, the tenant token a JWT;
 * - every tenant route also under `/t/{slug}/…` (the path resolver rewrites those URLs before
 *   routing, so Nest never sees them), and the `x-tenant-id` header on the others;
 * - `/metrics` answers Prometheus text, not JSON.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tenantry reference API')
      .setDescription(
        'Admin API (admin token) and tenant API (tenant token, tenant from x-tenant-id or /t/{slug}/…). Every error is { statusCode, code, message } (plus errors for VALIDATION_FAILED); branch on code.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin token (TENANTRY_ADMIN_TOKEN): an opaque string.' }, 'admin')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A tenant token: from POST /auth/login or POST /tenants/{id}/tokens.',
        },
        'tenant',
      )
      .build(),
  );
  // DocumentBuilder fills in bearerFormat JWT when none is given: the admin token is no JWT.
  const admin = doc.components?.securitySchemes?.['admin'];
  if (admin !== undefined && 'bearerFormat' in admin) delete admin.bearerFormat;

  const twins: Record<string, OpenAPIObject['paths'][string]> = {};
  for (const { path, method, op } of operations(doc)) {
    dedupeHeaders(op);
    if (!(op.tags ?? []).some((t) => TENANT_TAG.test(t))) continue;
    const own = ((op.parameters ?? []) as Parameter[]).filter((p) => !(p.in === 'header' && p.name === TENANT_HEADER.name));
    op.parameters = [TENANT_HEADER, ...own];
    const twin: Operation = {
      ...op,
      operationId: `${op.operationId ?? `${method}${path}`}_byPath`,
      parameters: [SLUG_PARAMETER, ...own],
    };
    const twinPath = `/t/{slug}${path}`;
    twins[twinPath] = { ...twins[twinPath], [method]: twin };
  }
  Object.assign(doc.paths, twins);

  const scrape = doc.paths['/metrics']?.get;
  if (scrape !== undefined) {
    scrape.summary ??= 'Prometheus metrics (text exposition format). No tenant labels.';
    scrape.responses = { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } };
  }
  return doc;
}

/**
 * Serves the document at `/docs-json` and Swagger UI at `/docs` (and `/docs/`: each page's
 * assets resolve under `/docs/`, which apps/api/test/openapi.test.ts checks).
 */
export function serveOpenApi(app: INestApplication, doc: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs-json' });
}
