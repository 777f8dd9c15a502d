-- Schema-neutral: runs with the tenant's own schema first on the search_path.
create table posts (
  id         serial primary key,
  title      text not null,
  body       text not null default '',
  published  boolean not null default false,
  created_at timestamptz not null default now()
);

-- down
drop table posts;
