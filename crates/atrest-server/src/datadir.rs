//! The data directory: root key, TLS material, database, operator credentials.
//!
//! Secrets are written with mode 0600 through a temporary file that is fsynced and renamed, so
//! a crash never leaves a half-written key behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use atrest_crypto::SecretKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Paths inside a data directory, held exclusively by this process while it lives.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// The open, locked `lock` file: a second server on the same directory would share the
    /// database and blobs without coordination (and clear the other's upload staging files).
    _lock: std::sync::Arc<fs::File>,
}

/// The operator's credentials, written once at first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorCredentials {
    /// Operator tenant.
    pub tenant_id: String,
    /// Operator client id.
    pub client_id: String,
    /// Operator client secret.
    pub client_secret: String,
}

impl DataDir {
    /// Creates the directory (mode 0700) if needed.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(root.join("tls"))?;
        set_mode(root, 0o700)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::other(format!(
                    "{} is in use by another atrest serve: stop it, or give this one its own --data-dir",
                    root.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(Self {
            root: root.to_owned(),
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// SQLite metadata database.
    pub fn database(&self) -> PathBuf {
        self.root.join("meta.db")
    }

    /// CA certificate clients should trust.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("tls/ca.pem")
    }

    pub(crate) fn tls(&self, name: &str) -> PathBuf {
        self.root.join("tls").join(name)
    }

    /// Where the operator credentials are written.
    pub fn operator_credentials(&self) -> PathBuf {
        self.root.join("operator.json")
    }

    /// Loads the root key, creating it on first start.
    pub fn root_key(&self) -> std::io::Result<SecretKey> {
        let path = self.root.join("root.key");
        match fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                SecretKey::try_from_slice(&bytes).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} must hold exactly 32 bytes", path.display()),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate().map_err(std::io::Error::other)?;
                write_secret(&path, key.expose_secret())?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the operator credentials (0600).
    pub fn write_operator_credentials(&self, creds: &OperatorCredentials) -> std::io::Result<()> {
        let json = Zeroizing::new(serde_json::to_vec_pretty(creds).map_err(std::io::Error::other)?);
        write_secret(&self.operator_credentials(), &json)
    }

    /// Reads the operator credentials.
    pub fn read_operator_credentials(&self) -> std::io::Result<OperatorCredentials> {
        let bytes = Zeroizing::new(fs::read(self.operator_credentials())?);
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync dir).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let first = data.root_key().unwrap();
        assert_eq!(data.root_key().unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("root.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(dir.path().join("root.key"), b"short").unwrap();
        assert!(data
            .root_key()
            .unwrap_err()
            .to_string()
            .contains("32 bytes"));
    }

    #[test]
    fn one_server_at_a_time_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        let err = DataDir::open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("in use by another atrest serve"),
            "{err}"
        );
        drop(first);
        DataDir::open(dir.path()).expect("free again once the first is gone");
    }
}
