-- Bring-your-own-storage: the storage account (resource id) an account writes new objects to.
-- Objects record where they are in their blob key (`uos:{registration}:…`), so changing or
-- removing this later never loses track of objects already written.
ALTER TABLE accounts ADD COLUMN user_owned_storage TEXT;
