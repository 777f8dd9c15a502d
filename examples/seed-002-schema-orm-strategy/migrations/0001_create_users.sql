-- Seed 002's tenant table, as its "Schema Structure" writes it, without the schema: Tenantry
-- runs this in each tenant's schema. One migration set for both ORMs: the TypeORM entity and
-- the Drizzle table (src/orm/) describe this table.
CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    email VARCHAR(255) UNIQUE NOT NULL
);
