import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, InvalidTokenError } from '@tenantry/nestjs';
import { API_CONFIG } from '../api.constants.js';
import type { ApiConfig } from '../config.js';
import { LoginDto } from '../users/users.dto.js';
import { UsersService } from '../users/users.service.js';
import { TokenService, type IssuedToken } from './token.service.js';
import { IssuedTokenDto } from '../openapi/responses.dto.js';
import { ApiErrors, BODY_ERRORS, SERVICE_ERRORS, TENANT_ERRORS } from '../openapi/api-errors.js';

/** Log in as a user of the request's tenant. Needs the tenant (header, path…), no token. */
@ApiTags('tenant: auth')
@Controller('auth')
export class AuthController {
  readonly #users: UsersService;
  readonly #tokens: TokenService;
  readonly #ttl: number;

  constructor(
    @Inject(UsersService) users: UsersService,
    @Inject(TokenService) tokens: TokenService,
    @Inject(API_CONFIG) config: Pick<ApiConfig, 'tokenTtlSeconds'>,
  ) {
    this.#users = users;
    this.#tokens = tokens;
    this.#ttl = config.tokenTtlSeconds;
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: "Exchange a tenant user's email and password for a tenant token." })
  @ApiOkResponse({ type: IssuedTokenDto })
  @ApiErrors(TENANT_ERRORS, BODY_ERRORS, { status: 401, code: 'UNAUTHORIZED' }, SERVICE_ERRORS)
  async login(@Body() body: LoginDto, @CurrentTenant('id') tenantId: string): Promise<IssuedToken> {
    const userId = await this.#users.authenticate(body.email, body.password);
    if (userId === undefined) throw new InvalidTokenError('invalid email or password');
    return await this.#tokens.issue(tenantId, `user:${userId}`, this.#ttl);
  }
}
