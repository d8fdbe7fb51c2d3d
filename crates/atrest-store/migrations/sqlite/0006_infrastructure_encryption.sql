-- Double encryption: chosen when the account is created, never changed.
ALTER TABLE accounts ADD COLUMN infrastructure_encryption INTEGER NOT NULL DEFAULT 0;
