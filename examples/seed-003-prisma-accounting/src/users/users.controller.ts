import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post } from '@nestjs/common';
import type { User } from '../generated/prisma/client.js';
import { CreateUserDto } from './users.dto.js';
import { UsersService } from './users.service.js';

/**
 * Seed 003's `@Controller(':tenantSlug/users')`, kept as the seed declares it: Tenantry's
 * first-segment resolver (`path({ prefix: '', rewrite: false })`) reads the same segment before
 * routing, so `:tenantSlug` is the request's company — the handlers need not read it.
 */
@Controller(':tenantSlug/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  getUsers(): Promise<User[]> {
    return this.users.findUsers();
  }

  @Post()
  create(@Body() dto: CreateUserDto): Promise<User> {
    return this.users.create(dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    return this.users.remove(id);
  }
}
