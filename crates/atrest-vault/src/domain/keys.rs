//! Creating, importing, reading, listing and updating keys.

use std::collections::BTreeMap;

use atrest_identity::Principal;
use atrest_store::vault::{KeyRow, VersionRow};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::Vaults;
use crate::crypto::{self, KeyMaterial};
use crate::events::VaultEventKind;
use crate::model::{
    valid_key_name, KeyAttributes, KeyBundle, KeyOp, KeyType, KeyUpdate, NewKey, Operation, Page,
    Recovery, RsaPrivateComponents, Vault, DEFAULT_KEY_OPS,
};
use crate::Error;

/// Largest page Key Vault hands out.
pub(super) const MAX_PAGE: u32 = 25;
const MAX_TAGS: usize = 15;

impl Vaults {
    /// Creates a key, or a new version of an existing key (`POST /keys/{name}/create`).
    pub async fn create_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        request: NewKey,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Create, Some(name))
            .await?;
        let result = async {
            check_name(name)?;
            check_new_key(&request)?;
            if request.public_exponent.is_some_and(|e| e != 65537) {
                return Err(Error::bad("Only the public exponent 65537 is supported"));
            }
            let bits = request.key_size.unwrap_or(2048);
            let material = tokio::task::spawn_blocking(move || crypto::generate(bits))
                .await
                .map_err(|err| Error::Other(std::sync::Arc::new(err)))??;
            self.store_new_version(&access.vault, name, &request, &material)
                .await
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Imports an RSA key with its private components (`PUT /keys/{name}`): a new version.
    pub async fn import_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        request: NewKey,
        components: RsaPrivateComponents,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Import, Some(name))
            .await?;
        let result = async {
            check_name(name)?;
            check_new_key(&request)?;
            let material = crypto::import(&components)?;
            self.store_new_version(&access.vault, name, &request, &material)
                .await
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Reads a key version; `version` `None` or empty means the newest.
    pub async fn get_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Get, Some(name))
            .await?;
        let result = async {
            let (_, row) = self.resolve(None, &access.vault, name, version).await?;
            bundle(&access.vault, &row)
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    /// Lists keys (newest version's attributes), `max` per page (≤ 25).
    pub async fn list_keys(
        &self,
        caller: &Principal,
        vault: &str,
        max: Option<u32>,
        skip_token: Option<&str>,
    ) -> Result<Page<KeyBundle>, Error> {
        let access = self.begin(caller, vault, Operation::List, None).await?;
        let result = self
            .list_current(&access.vault, false, max, skip_token)
            .await;
        self.end(&access, None, None, result.map(|(page, _)| page))
            .await
    }

    /// Lists the versions of a key, oldest first.
    pub async fn list_key_versions(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        max: Option<u32>,
        skip_token: Option<&str>,
    ) -> Result<Page<KeyBundle>, Error> {
        let access = self
            .begin(caller, vault, Operation::ListVersions, Some(name))
            .await?;
        let result = async {
            let limit = page_size(max)?;
            let after = match skip_token {
                Some(token) => decode_token(token)?
                    .parse::<i64>()
                    .map_err(|_| bad_token())?,
                None => 0,
            };
            let key = self.live_key(None, &access.vault, name).await?;
            let mut found = self
                .store()
                .versions_page(&access.vault.id, &key.name, after, i64::from(limit) + 1)
                .await?;
            let next = (found.len() > limit as usize).then(|| {
                found.truncate(limit as usize);
                encode_token(&found[found.len() - 1].seq.to_string())
            });
            let items = found
                .iter()
                .map(|row| bundle(&access.vault, row))
                .collect::<Result<_, _>>()?;
            Ok(Page { items, next })
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Updates a version's attributes, operations and tags (`PATCH /keys/{name}/{version}`).
    pub async fn update_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        update: KeyUpdate,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Update, Some(name))
            .await?;
        let result = async {
            let mut tx = self.write_tx().await?;
            let (_, mut row) = self
                .resolve(Some(&mut tx), &access.vault, name, version)
                .await?;
            let was_enabled = row.enabled;
            if let Some(ops) = &update.key_ops {
                row.key_ops = ops_json(ops);
            }
            if let Some(enabled) = update.enabled {
                row.enabled = enabled;
            }
            if update.nbf.is_some() {
                row.nbf = update.nbf;
            }
            if update.exp.is_some() {
                if update.exp != row.exp {
                    row.near_expiry_sent = false;
                    row.expired_sent = false;
                }
                row.exp = update.exp;
            }
            check_window(row.nbf, row.exp)?;
            if let Some(tags) = &update.tags {
                check_tags(tags)?;
                row.tags = tags_json(tags);
            }
            row.updated = self.now();
            self.store().update_version(&mut tx, &row).await?;
            tx.commit().await?;
            if was_enabled != row.enabled {
                let kind = if row.enabled {
                    VaultEventKind::KeyEnabled
                } else {
                    VaultEventKind::KeyDisabled
                };
                self.emit(kind, &access.vault, Some(&row.key_name), Some(&row.version));
            }
            bundle(&access.vault, &row)
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    /// Stores a new version of `name` (creating the key if needed), in one transaction.
    pub(super) async fn store_new_version(
        &self,
        vault: &Vault,
        name: &str,
        request: &NewKey,
        material: &KeyMaterial,
    ) -> Result<KeyBundle, Error> {
        let now = self.now();
        let ops = request
            .key_ops
            .clone()
            .unwrap_or_else(|| DEFAULT_KEY_OPS.to_vec());
        let mut tx = self.write_tx().await?;
        let existing = self.store().key(Some(&mut tx), &vault.id, name).await?;
        let key_name = match &existing {
            Some(key) if key.deleted_at.is_some() => {
                return Err(Error::KeyDeletedButRecoverable {
                    name: key.name.clone(),
                })
            }
            Some(key) => key.name.clone(),
            None => name.to_owned(),
        };
        let version = new_version_id();
        let seq = self
            .store()
            .last_version_seq(&mut tx, &vault.id, &key_name)
            .await?
            .unwrap_or(0)
            + 1;
        if existing.is_none() {
            self.store()
                .insert_key(
                    &mut tx,
                    &KeyRow {
                        vault_id: vault.id.clone(),
                        name: key_name.clone(),
                        current_version: version.clone(),
                        created: now,
                        deleted_at: None,
                        scheduled_purge: None,
                        rotation_policy: None,
                        policy_created: None,
                        policy_updated: None,
                    },
                )
                .await?;
        }
        let row = VersionRow {
            vault_id: vault.id.clone(),
            key_name: key_name.clone(),
            version: version.clone(),
            seq,
            kty: request.kty.as_str().to_owned(),
            key_ops: ops_json(&ops),
            n: material.n.clone(),
            e: material.e.clone(),
            sealed_private: atrest_crypto::seal::seal(
                &self.inner.root,
                &Self::seal_aad(&vault.id, &key_name, &version),
                &material.pkcs8,
            )?,
            enabled: request.enabled.unwrap_or(true),
            nbf: request.nbf,
            exp: request.exp,
            created: now,
            updated: now,
            tags: tags_json(&request.tags),
            near_expiry_sent: false,
            expired_sent: false,
        };
        self.store().insert_version(&mut tx, &row).await?;
        self.store()
            .set_current_version(&mut tx, &vault.id, &key_name, &version)
            .await?;
        tx.commit().await?;
        self.emit(
            VaultEventKind::KeyNewVersionCreated,
            vault,
            Some(&key_name),
            Some(&version),
        );
        bundle(vault, &row)
    }

    /// A page of keys (live or deleted) with their current versions, and the keys' rows.
    pub(super) async fn list_current(
        &self,
        vault: &Vault,
        deleted: bool,
        max: Option<u32>,
        skip_token: Option<&str>,
    ) -> Result<(Page<KeyBundle>, Vec<KeyRow>), Error> {
        let limit = page_size(max)?;
        let after = skip_token
            .map(decode_token)
            .transpose()?
            .unwrap_or_default();
        let mut found = self
            .store()
            .keys_page(&vault.id, deleted, &after, i64::from(limit) + 1)
            .await?;
        let next = (found.len() > limit as usize).then(|| {
            found.truncate(limit as usize);
            encode_token(&found[found.len() - 1].name)
        });
        let mut items = Vec::with_capacity(found.len());
        for key in &found {
            if let Some(row) = self
                .store()
                .version(None, &vault.id, &key.name, &key.current_version)
                .await?
            {
                items.push(bundle(vault, &row)?);
            }
        }
        Ok((Page { items, next }, found))
    }

    /// The live key `name`, or KeyNotFound; read inside `tx` when given.
    pub(super) async fn live_key(
        &self,
        tx: Option<&mut atrest_store::WriteTx>,
        vault: &Vault,
        name: &str,
    ) -> Result<KeyRow, Error> {
        match self.store().key(tx, &vault.id, name).await? {
            Some(key) if key.deleted_at.is_none() => Ok(key),
            _ => Err(Error::KeyNotFound {
                name: name.to_owned(),
                version: None,
            }),
        }
    }

    /// The live key and the requested version (newest when `None` or empty); read inside
    /// `tx` when given.
    pub(super) async fn resolve(
        &self,
        mut tx: Option<&mut atrest_store::WriteTx>,
        vault: &Vault,
        name: &str,
        version: Option<&str>,
    ) -> Result<(KeyRow, VersionRow), Error> {
        let key = self.live_key(tx.as_deref_mut(), vault, name).await?;
        let wanted = version
            .filter(|v| !v.is_empty())
            .unwrap_or(&key.current_version)
            .to_owned();
        match self
            .store()
            .version(tx, &vault.id, &key.name, &wanted)
            .await?
        {
            Some(row) => Ok((key, row)),
            None => Err(Error::KeyNotFound {
                name: name.to_owned(),
                version: Some(wanted),
            }),
        }
    }
}

/// The public view of a version row.
pub(super) fn bundle(vault: &Vault, row: &VersionRow) -> Result<KeyBundle, Error> {
    let ops: Vec<String> = serde_json::from_str(&row.key_ops).map_err(Error::other)?;
    let tags: BTreeMap<String, String> = serde_json::from_str(&row.tags).map_err(Error::other)?;
    Ok(KeyBundle {
        name: row.key_name.clone(),
        version: row.version.clone(),
        kty: KeyType::parse(&row.kty).unwrap_or(KeyType::Rsa),
        key_ops: ops.iter().filter_map(|op| KeyOp::parse(op)).collect(),
        n: row.n.clone(),
        e: row.e.clone(),
        attributes: KeyAttributes {
            enabled: row.enabled,
            nbf: row.nbf,
            exp: row.exp,
            created: row.created,
            updated: row.updated,
        },
        tags,
        recovery: Recovery {
            level: vault.recovery_level(),
            days: vault.retention_days,
        },
    })
}

pub(super) fn ops_json(ops: &[KeyOp]) -> String {
    let names: Vec<&str> = ops.iter().map(|op| op.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) fn tags_json(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".to_owned())
}

pub(super) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(super) fn check_name(name: &str) -> Result<(), Error> {
    if valid_key_name(name) {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "The key name '{name}' is invalid: use 1-127 letters, digits and hyphens"
        )))
    }
}

fn check_new_key(request: &NewKey) -> Result<(), Error> {
    check_window(request.nbf, request.exp)?;
    check_tags(&request.tags)
}

fn check_window(nbf: Option<i64>, exp: Option<i64>) -> Result<(), Error> {
    match (nbf, exp) {
        (Some(nbf), Some(exp)) if exp <= nbf => {
            Err(Error::bad("The key's exp must be later than its nbf"))
        }
        _ => Ok(()),
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::bad(format!(
            "A key may have at most {MAX_TAGS} tags"
        )));
    }
    if tags
        .iter()
        .any(|(k, v)| k.is_empty() || k.len() > 512 || v.len() > 256)
    {
        return Err(Error::bad(
            "Tag names must be 1-512 characters and values at most 256",
        ));
    }
    Ok(())
}

pub(super) fn page_size(max: Option<u32>) -> Result<u32, Error> {
    match max {
        None => Ok(MAX_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(Error::bad(format!(
            "maxresults must be between 1 and {MAX_PAGE}, not {n}"
        ))),
    }
}

fn encode_token(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(value)
}

fn decode_token(token: &str) -> Result<String, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad_token())?;
    String::from_utf8(bytes).map_err(|_| bad_token())
}

fn bad_token() -> Error {
    Error::bad("The $skiptoken is invalid")
}
