import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  ServiceUnavailableException,
  UnprocessableEntityException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCodes, isTenantryError, redactUrl, type ServerInfo, type Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { AdminGuard } from '../auth/admin.guard.js';
import { AddServerDto, ServerParams } from './servers.dto.js';
import { ServerDto, ServerListDto } from '../openapi/responses.dto.js';
import { ADMIN_ERRORS, ApiErrors, BODY_ERRORS, PARAM_ERRORS, SERVICE_ERRORS } from '../openapi/api-errors.js';

/** A server as the admin API shows it: `host` is `user@host:port/database`, never a password. */
function serverJson(s: ServerInfo): Record<string, unknown> {
  return {
    id: s.id,
    host: s.host,
    replicaHost: s.replicaHost,
    capacity: s.capacity,
    draining: s.draining,
    tenants: s.tenants,
    createdAt: s.createdAt.toISOString(),
  };
}

/** Every form in which `url`'s secrets could show up in a driver's message. */
function secretsOf(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    for (const p of [u.password, u.searchParams.get('password') ?? '']) {
      if (p === '') continue;
      out.push(p);
      try {
        out.push(decodeURIComponent(p));
      } catch {
        // not %-encoded
      }
    }
  } catch {
    // the DTO only lets parseable URLs through
  }
  return out.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function scrub(text: string, urls: readonly string[]): string {
  let out = text;
  for (const secret of urls.flatMap(secretsOf)) out = out.split(secret).join('***');
  return out;
}

/**
 * `POST /servers` failures an API client can act on, as answers with their own message; the
 * rest go to the exception filter as they are.
 */
function addFailure(err: unknown, body: AddServerDto): unknown {
  if (isTenantryError(err, ErrorCodes.ENCRYPTION_KEY_REQUIRED)) {
    // Core's code maps to a bare 500; the operator must restart the service with a key.
    return new ServiceUnavailableException({
      code: ErrorCodes.ENCRYPTION_KEY_REQUIRED,
      message:
        'adding a server needs TENANTRY_ENCRYPTION_KEY (server URLs are stored encrypted): restart the service with it set to 32 random bytes, e.g. `openssl rand -hex 32`, the same key in every process',
    });
  }
  const server = isTenantryError(err, ErrorCodes.SERVER_UNAVAILABLE) ? err.context.server : undefined;
  if (server === body.id || server === `${body.id}:replica`) {
    // The probe of the new server failed: the URL (host, port, credentials) is what to fix, so
    // 422 rather than the filter's 503 "retry" — with the driver's reason, minus any secret.
    const replica = server !== body.id;
    const url = replica ? body.replicaUrl! : body.url;
    const cause = (err as Error).cause;
    const reason = scrub(cause instanceof Error ? cause.message : String(cause), [
      body.url,
      ...(body.replicaUrl === undefined ? [] : [body.replicaUrl]),
    ]);
    return new UnprocessableEntityException({
      code: ErrorCodes.SERVER_UNAVAILABLE,
      message: `could not connect to ${replica ? 'the replica' : 'the server'} at ${redactUrl(url)} (${reason}); check the host, port and credentials, and that it is running. Nothing was registered`,
    });
  }
  return err;
}

/**
 * The fleet of PostgreSQL servers tenants are placed on (`tenancy.servers`). URLs go in
 * encrypted and never come out: replies show `user@host:port/database`.
 */
@ApiTags('admin: servers')
@ApiBearerAuth('admin')
@SkipTenancy()
@UseGuards(AdminGuard)
@Controller('servers')
export class ServersController {
  readonly #tenancy: Tenancy;

  constructor(@InjectTenancy() tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  @Get()
  @ApiOperation({ summary: 'Every server with its live tenant count; no passwords.' })
  @ApiOkResponse({ type: ServerListDto })
  @ApiErrors(ADMIN_ERRORS, SERVICE_ERRORS)
  async list(): Promise<{ servers: Record<string, unknown>[] }> {
    return { servers: (await this.#tenancy.servers.list()).map(serverJson) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One server; 404 SERVER_NOT_FOUND.' })
  @ApiOkResponse({ type: ServerDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'SERVER_NOT_FOUND', SERVICE_ERRORS)
  async get(@Param() params: ServerParams): Promise<Record<string, unknown>> {
    return serverJson(await this.#tenancy.servers.get(params.id));
  }

  @Post()
  @ApiOperation({
    summary:
      'Register a server after checking that it accepts connections. 201 the server; 409 SERVER_EXISTS, 422 SERVER_UNAVAILABLE, 503 ENCRYPTION_KEY_REQUIRED.',
  })
  @ApiCreatedResponse({ type: ServerDto })
  @ApiErrors(
    ADMIN_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'SERVER_EXISTS',
    { status: 422, code: 'SERVER_UNAVAILABLE' },
    { status: 503, code: 'ENCRYPTION_KEY_REQUIRED' },
    SERVICE_ERRORS,
  )
  async add(@Body() body: AddServerDto): Promise<Record<string, unknown>> {
    try {
      const server = await this.#tenancy.servers.add({
        id: body.id,
        url: body.url,
        ...(body.replicaUrl === undefined ? {} : { replicaUrl: body.replicaUrl }),
        ...(body.capacity === undefined ? {} : { capacity: body.capacity }),
      });
      return serverJson(server);
    } catch (err) {
      throw addFailure(err, body);
    }
  }

  @Post(':id/drain')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop placing new tenants on the server; its tenants keep working. Idempotent.' })
  @ApiOkResponse({ type: ServerDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'SERVER_NOT_FOUND', SERVICE_ERRORS)
  async drain(@Param() params: ServerParams): Promise<Record<string, unknown>> {
    return serverJson(await this.#tenancy.servers.drain(params.id));
  }

  @Post(':id/undrain')
  @HttpCode(200)
  @ApiOperation({ summary: 'Let a drained server take new tenants again. Idempotent.' })
  @ApiOkResponse({ type: ServerDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'SERVER_NOT_FOUND', SERVICE_ERRORS)
  async undrain(@Param() params: ServerParams): Promise<Record<string, unknown>> {
    return serverJson(await this.#tenancy.servers.undrain(params.id));
  }
}
