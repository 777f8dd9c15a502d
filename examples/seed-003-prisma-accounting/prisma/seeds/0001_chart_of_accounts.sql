-- Seed 003's "Seed Initial Data: Default Chart of Accounts" (a TODO in the seed), done: Tenantry
-- runs this in every new company's database right after its migrations, in the same
-- transaction (a company is never ACTIVE without its chart), and again with tenancy.seed().
insert into accounts (code, name, type) values
  ('1000', 'Cash', 'ASSET'),
  ('1100', 'Bank', 'ASSET'),
  ('1200', 'Accounts receivable', 'ASSET'),
  ('1300', 'Inventory', 'ASSET'),
  ('1400', 'Prepaid VAT (PPN masukan)', 'ASSET'),
  ('1500', 'Fixed assets', 'ASSET'),
  ('2000', 'Accounts payable', 'LIABILITY'),
  ('2100', 'VAT payable (PPN keluaran)', 'LIABILITY'),
  ('2200', 'Income tax payable', 'LIABILITY'),
  ('3000', 'Share capital', 'EQUITY'),
  ('3100', 'Retained earnings', 'EQUITY'),
  ('4000', 'Sales', 'REVENUE'),
  ('4100', 'Other income', 'REVENUE'),
  ('5000', 'Cost of goods sold', 'EXPENSE'),
  ('6000', 'Salaries', 'EXPENSE'),
  ('6100', 'Rent', 'EXPENSE')
on conflict (code) do nothing;
