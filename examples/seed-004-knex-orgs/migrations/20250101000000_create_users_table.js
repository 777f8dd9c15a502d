// Seed 004's migration, as `knex migrate:make create_users_table` writes it (CommonJS: this
// folder's package.json says so). Tenantry records its SQL once and applies it in every tenant
// database.
exports.up = function (knex) {
  return knex.schema.createTable('users', (table) => {
    table.increments('id').primary();
    table.string('name');
    table.string('email').unique();
  });
};

exports.down = function (knex) {
  return knex.schema.dropTable('users');
};
