-- Tenant users who can log in (POST /auth/login). Emails are unique case-insensitively;
-- password_hash holds a self-describing scrypt hash (scrypt$N$r$p$salt$hash), never a password.
create table users (
  id            uuid primary key default gen_random_uuid(),
  email         text not null check (length(email) between 3 and 254),
  password_hash text not null,
  created_at    timestamptz not null default now()
);
create unique index users_email_unique on users (lower(email));

-- down
drop table users;
