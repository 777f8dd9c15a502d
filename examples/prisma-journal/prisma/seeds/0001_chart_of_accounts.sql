-- Seed 003's "default chart of accounts", in every new tenant (and again with tenancy.seed()).
insert into accounts (code, name, type) values
  ('1000', 'Cash', 'ASSET'),
  ('1100', 'Accounts receivable', 'ASSET'),
  ('2000', 'Accounts payable', 'LIABILITY'),
  ('3000', 'Owner''s equity', 'EQUITY'),
  ('4000', 'Sales', 'REVENUE'),
  ('5000', 'Rent', 'EXPENSE')
on conflict (code) do nothing;
