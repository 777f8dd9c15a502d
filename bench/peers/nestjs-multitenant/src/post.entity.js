'use strict';
// The posts table of the reference API (apps/api/migrations/0001_create_posts.sql), mapped as a
// TypeORM entity. Plain JavaScript: decorators are applied with Reflect.decorate, as tsc emits
// them. The id is a plain uuid primary key (the table's default generates it), so TypeORM does not
// try to install uuid-ossp on every DataSource it initializes.
const { Entity, PrimaryColumn, Column } = require('typeorm');

class Post {}

Reflect.decorate([Entity('posts')], Post);
Reflect.decorate([PrimaryColumn({ type: 'uuid' })], Post.prototype, 'id', undefined);
Reflect.decorate([Column({ type: 'text' })], Post.prototype, 'title', undefined);
Reflect.decorate([Column({ type: 'text' })], Post.prototype, 'content', undefined);
Reflect.decorate([Column({ type: 'boolean' })], Post.prototype, 'published', undefined);
Reflect.decorate([Column({ type: 'timestamptz', name: 'created_at' })], Post.prototype, 'createdAt', undefined);
Reflect.decorate([Column({ type: 'timestamptz', name: 'updated_at' })], Post.prototype, 'updatedAt', undefined);

module.exports = { Post };
