//! The platform key ring: numbered MMK versions, each sealed under the root key. Account keys
//! on platform-managed keys are wrapped by one version (AES-256-GCM, AAD = account id).
//!
//! Rotation adds a version and rewraps every wrapped account key (and blocklist name) still
//! under an older one, in batches, each batch one transaction, each row guarded by its old
//! version. A crash mid-way leaves some rows on older versions, which stay readable; the job
//! runs again at start and finishes.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use atrest_crypto::{envelope, seal, SecretKey};
use atrest_store::accounts::AccountStore;
use atrest_store::platform_keys::{PlatformKeyRow, PlatformKeyStore};
use atrest_store::{unix_now, Db};

use crate::error::Error;

const BATCH: i64 = 500;

/// The ring. Cheap to share behind an `Arc`.
pub struct PlatformKeys {
    /// Begins the units of work.
    db: Db,
    /// The sealed versions.
    store: Arc<dyn PlatformKeyStore>,
    /// The account keys and blocklist names wrapped under a version.
    accounts: Arc<dyn AccountStore>,
    root: SecretKey,
    versions: RwLock<BTreeMap<i64, Arc<SecretKey>>>,
}

impl std::fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKeys").finish_non_exhaustive()
    }
}

fn aad(version: i64) -> Vec<u8> {
    format!("atrest/mmk/{version}").into_bytes()
}

impl PlatformKeys {
    /// Loads every version, creating version 1 on first start.
    pub async fn load(
        db: Db,
        store: Arc<dyn PlatformKeyStore>,
        accounts: Arc<dyn AccountStore>,
        root: SecretKey,
    ) -> Result<Self, Error> {
        let ring = Self {
            db,
            store,
            accounts,
            root,
            versions: RwLock::new(BTreeMap::new()),
        };
        ring.reload().await?;
        if ring.versions.read().expect("lock").is_empty() {
            ring.rotate().await?;
        }
        Ok(ring)
    }

    async fn reload(&self) -> Result<(), Error> {
        let rows = self.store.platform_keys().await?;
        let mut map = BTreeMap::new();
        for row in rows {
            let bytes = seal::open(&self.root, &aad(row.version), &row.sealed)?;
            map.insert(row.version, Arc::new(SecretKey::try_from_slice(&bytes)?));
        }
        *self.versions.write().expect("lock") = map;
        Ok(())
    }

    /// The newest version.
    pub fn current(&self) -> (i64, Arc<SecretKey>) {
        let versions = self.versions.read().expect("lock");
        let (v, k) = versions.iter().next_back().expect("ring has a version");
        (*v, k.clone())
    }

    /// Adds a new version and makes it current. Returns its number.
    pub async fn rotate(&self) -> Result<i64, Error> {
        let key = SecretKey::generate()?;
        let mut tx = self.db.begin_write().await?;
        let next = self.store.next_platform_key_version(&mut tx).await?;
        let sealed = seal::seal(&self.root, &aad(next), key.expose_secret())?;
        let row = PlatformKeyRow {
            version: next,
            sealed,
            created: unix_now(),
        };
        self.store.insert_platform_key(&mut tx, &row).await?;
        tx.commit().await?;
        self.versions
            .write()
            .expect("lock")
            .insert(next, Arc::new(key));
        Ok(next)
    }

    /// Wraps an account key under the current version.
    pub fn wrap(&self, ak: &SecretKey, account_id: &str) -> Result<(i64, Vec<u8>), Error> {
        let (version, mmk) = self.current();
        Ok((
            version,
            envelope::wrap_key(&mmk, ak, account_id.as_bytes())?,
        ))
    }

    /// Unwraps an account key wrapped under `version`.
    pub fn unwrap(
        &self,
        version: i64,
        wrapped: &[u8],
        account_id: &str,
    ) -> Result<SecretKey, Error> {
        let mmk = self
            .versions
            .read()
            .expect("lock")
            .get(&version)
            .cloned()
            .ok_or_else(|| {
                Error::BadRequest(format!("platform key version {version} is unknown"))
            })?;
        Ok(envelope::unwrap_key(&mmk, wrapped, account_id.as_bytes())?)
    }

    /// Seals small platform metadata (blocklist names) under the current version.
    pub fn seal_meta(&self, context: &str, plaintext: &[u8]) -> Result<(i64, Vec<u8>), Error> {
        let (version, mmk) = self.current();
        Ok((version, seal::seal(&mmk, context.as_bytes(), plaintext)?))
    }

    /// Opens what [`seal_meta`](Self::seal_meta) sealed.
    pub fn open_meta(&self, version: i64, context: &str, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        let (_, mmk) = self.current();
        let mmk = self
            .versions
            .read()
            .expect("lock")
            .get(&version)
            .cloned()
            .unwrap_or(mmk);
        Ok(seal::open(&mmk, context.as_bytes(), sealed)?.to_vec())
    }

    /// Rewraps one batch of rows still under older versions. Returns how many it moved; call
    /// until it returns 0.
    pub async fn rewrap_batch(&self) -> Result<usize, Error> {
        let (current, _) = self.current();
        let rows = self
            .accounts
            .keys_under_older_platform_key(current, BATCH)
            .await?;
        let lists = self
            .accounts
            .blocklists_under_older_platform_key(current, BATCH)
            .await?;
        let mut tx = self.db.begin_write().await?;
        for row in &rows {
            let old = row.mmk_version;
            let ak = self.unwrap(old, &row.wrapped_ak, &row.id)?;
            let (version, rewrapped) = self.wrap(&ak, &row.id)?;
            self.accounts
                .rewrap_account_key(&mut tx, &row.id, old, &rewrapped, version)
                .await?;
        }
        for row in &lists {
            let old = row.mmk_version;
            let context = blocklist_context(&row.account_id, &row.name_index);
            let name = zeroize::Zeroizing::new(self.open_meta(old, &context, &row.name_sealed)?);
            let (version, resealed) = self.seal_meta(&context, &name)?;
            self.accounts
                .reseal_blocklist_name(
                    &mut tx,
                    &row.account_id,
                    &row.name_index,
                    old,
                    &resealed,
                    version,
                )
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() + lists.len())
    }

    /// How many account keys and blocklist names are still wrapped under an older version.
    pub async fn pending_rewraps(&self) -> Result<i64, Error> {
        let (current, _) = self.current();
        Ok(self.accounts.pending_platform_rewraps(current).await?)
    }

    /// Rewraps until nothing is left under an older version.
    pub async fn rewrap_all(&self) -> Result<usize, Error> {
        let mut total = 0;
        loop {
            let moved = self.rewrap_batch().await?;
            if moved == 0 {
                return Ok(total);
            }
            total += moved;
        }
    }

    /// A key for name indexes that does not change with rotation (derived from the root key).
    pub fn index_key(&self, label: &str) -> aws_lc_rs::hmac::Key {
        let base =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.root.expose_secret());
        let derived = aws_lc_rs::hmac::sign(&base, format!("atrest/index/{label}").as_bytes());
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, derived.as_ref())
    }
}

/// AAD of a sealed blocklist name.
pub fn blocklist_context(account_id: &str, name_index: &str) -> String {
    format!("atrest/blocklist/{account_id}/{name_index}")
}
