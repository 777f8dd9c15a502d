import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { EmailTakenError, ORM_STRATEGY, type IOrmStrategy, type User } from '../orm/orm-strategy.interface.js';
import type { CreateUserDto } from './dto/create-user.dto.js';

/** The tenant's users, through whichever ORM strategy the configuration chose. No tenant in sight. */
@Injectable()
export class UsersService {
  constructor(@Inject(ORM_STRATEGY) private readonly orm: IOrmStrategy) {}

  findAll(): Promise<User[]> {
    return this.orm.findUsers();
  }

  async findOne(id: number): Promise<User> {
    const user = await this.orm.findUser(id);
    if (user === undefined) throw new NotFoundException(`User with ID ${id} not found`);
    return user;
  }

  async create(input: CreateUserDto): Promise<User> {
    try {
      return await this.orm.createUser({ name: input.name, email: input.email });
    } catch (err) {
      if (err instanceof EmailTakenError) throw new ConflictException(err.message);
      throw err;
    }
  }

  async remove(id: number): Promise<void> {
    if (!(await this.orm.deleteUser(id))) throw new NotFoundException(`User with ID ${id} not found`);
  }
}
