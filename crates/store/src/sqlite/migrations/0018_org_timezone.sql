-- An organization's time zone (IANA): its budgets' unless they name one.
ALTER TABLE organizations ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
