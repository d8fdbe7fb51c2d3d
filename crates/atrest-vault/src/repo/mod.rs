//! Vault rows ↔ the domain model (the rows are `atrest_store::vault`'s).

pub(crate) mod vaults;
