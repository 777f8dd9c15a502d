import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `users` (migrations/0001_create_users.sql) as a TypeORM entity, with no schema: Tenantry puts it in the tenant's. */
@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  @Column({ type: 'varchar', length: 255, unique: true })
  email!: string;
}
