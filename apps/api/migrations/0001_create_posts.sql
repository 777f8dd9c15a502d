-- Tenant migration: runs with the tenant's own schema first on the search_path, so names are
-- unqualified. gen_random_uuid() is built into PostgreSQL 13+.
create table posts (
  id         uuid primary key default gen_random_uuid(),
  title      text not null check (length(title) between 1 and 200),
  content    text not null default '',
  published  boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index posts_created_at on posts (created_at desc, id);
create index posts_published_created_at on posts (created_at desc, id) where published;

-- down
drop table posts;
