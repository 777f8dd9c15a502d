'use strict';
// README, "Crear un Servicio con Repositorios de Tenant" and "Configurar un Módulo de
// Funcionalidad": a service with @InjectTenantRepository(Post), a module with
// createTenantRepositoryProviders([Post]). GET /posts/:id answers the reference API's JSON shape.
const { Controller, Get, Inject, Injectable, Module, NotFoundException, Param, ParseUUIDPipe } = require('@nestjs/common');
const { InjectTenantRepository, createTenantRepositoryProviders } = require('nestjs-multitenant');
const { Post } = require('./entities');

class PostsService {
  constructor(postRepository) {
    this.postRepository = postRepository;
  }

  findById(id) {
    return this.postRepository.findOne({ where: { id } });
  }
}
Reflect.decorate([Injectable(), (target) => InjectTenantRepository(Post)(target, undefined, 0)], PostsService);

class PostsController {
  constructor(posts) {
    this.posts = posts;
  }

  async get(id) {
    const post = await this.posts.findById(id);
    if (!post) throw new NotFoundException({ code: 'NOT_FOUND', message: `no post '${id}'` });
    return {
      id: post.id,
      title: post.title,
      content: post.content,
      published: post.published,
      createdAt: post.createdAt.toISOString(),
      updatedAt: post.updatedAt.toISOString(),
    };
  }
}
Reflect.decorate(
  [Get(':id'), (target, key) => Param('id', new ParseUUIDPipe())(target, key, 0)],
  PostsController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(PostsController.prototype, 'get'),
);
Reflect.decorate([Controller('posts'), (target) => Inject(PostsService)(target, undefined, 0)], PostsController);

class PostsModule {}
Reflect.decorate(
  [Module({ providers: [...createTenantRepositoryProviders([Post]), PostsService], controllers: [PostsController] })],
  PostsModule,
);

module.exports = { PostsModule };
