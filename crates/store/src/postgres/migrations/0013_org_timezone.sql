-- An organization's time zone (IANA): its budgets' unless they name one.
ALTER TABLE organizations ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
