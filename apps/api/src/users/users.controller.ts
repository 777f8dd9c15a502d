import { Body, Controller, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TenantAuthGuard } from '../auth/tenant-auth.guard.js';
import { CreateUserDto } from './users.dto.js';
import { UsersService, type User } from './users.service.js';
import { UserDto } from '../openapi/responses.dto.js';
import { ApiErrors, BODY_ERRORS, SERVICE_ERRORS, TENANT_ERRORS, TENANT_TOKEN_ERRORS } from '../openapi/api-errors.js';

@ApiTags('tenant: users')
@ApiBearerAuth('tenant')
@UseGuards(TenantAuthGuard)
@Controller('users')
export class UsersController {
  readonly #users: UsersService;

  constructor(@Inject(UsersService) users: UsersService) {
    this.#users = users;
  }

  @Post()
  @ApiOperation({ summary: 'Create a user of the tenant (email unique per tenant; password hashed with scrypt).' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiErrors(TENANT_ERRORS, TENANT_TOKEN_ERRORS, BODY_ERRORS, 'USER_EXISTS', SERVICE_ERRORS)
  create(@Body() body: CreateUserDto): Promise<User> {
    return this.#users.create(body.email, body.password);
  }
}
