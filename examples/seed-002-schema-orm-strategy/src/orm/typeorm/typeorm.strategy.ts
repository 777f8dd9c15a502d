import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { EmailTakenError, isUniqueViolation, type IOrmStrategy, type NewUser, type User } from '../orm-strategy.interface.js';
import { UserEntity } from './user.entity.js';

/**
 * Seed 002's `TypeOrmStrategy`. The seed made a `DataSource({ schema: tenantId })` per tenant;
 * here `@InjectRepository(UserEntity)` is a singleton of the one DataSource of
 * `tenantryTypeOrm()`, whose statements run in the request's tenant schema.
 */
@Injectable()
export class TypeOrmStrategy implements IOrmStrategy {
  readonly type = 'typeorm' as const;

  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  async findUsers(): Promise<User[]> {
    return this.users.find({ order: { id: 'ASC' } });
  }

  async findUser(id: number): Promise<User | undefined> {
    return (await this.users.findOneBy({ id })) ?? undefined;
  }

  async createUser(input: NewUser): Promise<User> {
    try {
      return await this.users.save(this.users.create(input));
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError(input.email);
      throw err;
    }
  }

  async deleteUser(id: number): Promise<boolean> {
    return ((await this.users.delete({ id })).affected ?? 0) > 0;
  }
}
