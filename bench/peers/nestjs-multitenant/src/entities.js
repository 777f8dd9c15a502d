'use strict';
// README, "Registro de Entidades para forRootAsync / Registrar Entidades": register the tenant
// entities before MultiTenantModule is initialized. Tenants are created with
// enabledEntities: ['post'] (the registry lower-cases 'Post').
const { EntityRegistry } = require('nestjs-multitenant');
const { Post } = require('./post.entity');

EntityRegistry.getInstance().registerEntity('Post', Post);

module.exports = { Post };
