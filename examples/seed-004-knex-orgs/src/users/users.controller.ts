import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CreateUserDto, RenameUsersDto } from './users.dto.js';
import { UsersService, type User } from './users.service.js';

/**
 * The users of the organisation in the path. The `:org` segment is read by the tenant resolver
 * (see `app.module.ts`) before routing; the handlers never see it.
 */
@Controller('org/:org/users')
export class UsersController {
  constructor(private readonly usersService: UsersService) {}

  @Get()
  list(): Promise<User[]> {
    return this.usersService.list();
  }

  @Post()
  create(@Body() dto: CreateUserDto): Promise<User> {
    return this.usersService.create(dto);
  }

  @Post('rename')
  @HttpCode(200)
  async rename(@Body() dto: RenameUsersDto): Promise<{ renamed: number }> {
    return { renamed: await this.usersService.rename(dto.changes) };
  }
}
