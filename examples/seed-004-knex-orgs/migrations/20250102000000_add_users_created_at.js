exports.up = function (knex) {
  return knex.schema.alterTable('users', (table) => {
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
};

exports.down = function (knex) {
  return knex.schema.alterTable('users', (table) => {
    table.dropColumn('created_at');
  });
};
