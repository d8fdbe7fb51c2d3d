//! Profiles and cached tokens on disk.
//!
//! Layout under the config directory (`$ATREST_CONFIG_DIR`, else `$XDG_CONFIG_HOME/atrest`,
//! else `~/.config/atrest`; the directory is created 0700):
//!
//! * `profiles/{name}.json` — server URL, CA certificate, tenant, client id and client secret
//!   (0600: the secret is what lets the client get new tokens);
//! * `tokens/{name}.json` — access tokens per resource with their expiry (0600).
//!
//! Files are written atomically (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};

/// A saved login.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    /// `https://host:port` of the server.
    pub(crate) server: String,
    /// PEM of the CA that signed the server's certificate.
    pub(crate) ca_cert: String,
    /// The principal's home tenant.
    pub(crate) tenant_id: String,
    /// The principal's client (application) id.
    pub(crate) client_id: String,
    /// The client secret.
    pub(crate) client_secret: String,
    /// The principal's object id (from its first token).
    pub(crate) object_id: String,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("server", &self.server)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("object_id", &self.object_id)
            .finish_non_exhaustive()
    }
}

/// A cached access token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CachedToken {
    /// The bearer token.
    pub(crate) access_token: String,
    /// Unix seconds when it expires.
    pub(crate) expires_on: i64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

/// Access tokens by resource (audience).
pub(crate) type TokenCache = BTreeMap<String, CachedToken>;

/// The config directory.
#[derive(Debug, Clone)]
pub(crate) struct ConfigStore {
    dir: PathBuf,
}

impl ConfigStore {
    /// The store at `dir`, or at the default location.
    pub(crate) fn new(dir: Option<PathBuf>) -> Result<Self> {
        let dir = match dir {
            Some(dir) => dir,
            None => default_dir().ok_or_else(|| {
                Error::usage("cannot find a config directory: set ATREST_CONFIG_DIR or HOME")
            })?,
        };
        Ok(Self { dir })
    }

    fn profile_path(&self, name: &str) -> PathBuf {
        self.dir.join("profiles").join(format!("{name}.json"))
    }

    fn tokens_path(&self, name: &str) -> PathBuf {
        self.dir.join("tokens").join(format!("{name}.json"))
    }

    /// Reads profile `name`.
    pub(crate) fn profile(&self, name: &str) -> Result<Profile> {
        check_name(name)?;
        let path = self.profile_path(name);
        let bytes = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(
                    Kind::Unauthenticated,
                    format!("not signed in (no profile '{name}')"),
                )
                .with_hint(
                    "sign in first: `atrest login --data-dir ./atrest-data` (the operator) or \
                         `atrest login --credentials sp.json --cacert ca.pem`",
                )
            } else {
                Error::io("read", &path, e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::failed(format!("profile {} is damaged", path.display()))
                .with_source(e)
                .with_hint(format!("sign in again: `atrest login --profile {name} …`"))
        })
    }

    /// Saves profile `name` (0600). The login that calls this has already replaced the
    /// profile's token cache with the tokens of the new credentials.
    pub(crate) fn save_profile(&self, name: &str, profile: &Profile) -> Result<PathBuf> {
        check_name(name)?;
        let path = self.profile_path(name);
        let json = serde_json::to_vec_pretty(profile).map_err(|e| Error::failed(e.to_string()))?;
        write_private(&path, &json)?;
        Ok(path)
    }

    /// Deletes profile `name` and its tokens; whether there was one.
    pub(crate) fn remove_profile(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        let mut existed = false;
        for path in [self.profile_path(name), self.tokens_path(name)] {
            match fs::remove_file(&path) {
                Ok(()) => existed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
        Ok(existed)
    }

    /// Cached tokens of profile `name` (empty if none or unreadable).
    pub(crate) fn tokens(&self, name: &str) -> TokenCache {
        fs::read(self.tokens_path(name))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves the token cache of profile `name` (0600).
    pub(crate) fn save_tokens(&self, name: &str, tokens: &TokenCache) -> Result<()> {
        let json = serde_json::to_vec(tokens).map_err(|e| Error::failed(e.to_string()))?;
        write_private(&self.tokens_path(name), &json)
    }
}

fn default_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("atrest"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
    Some(PathBuf::from(home).join(".config").join("atrest"))
}

/// Profile names become file names: keep them plain.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "profile name '{name}': use 1–64 letters, digits, '-' or '_'"
        )))
    }
}

/// Writes `bytes` to `path` atomically, readable only by the owner; parents are created 0700.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    create_private_dir(parent).map_err(|e| Error::io("create", parent, e))?;
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("write", path, e)
    })
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            server: "https://localhost:8443".into(),
            ca_cert: "PEM".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "s3cret".into(),
            object_id: "o".into(),
        }
    }

    #[test]
    fn profiles_round_trip_with_owner_only_files() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(Some(tmp.path().join("cfg"))).unwrap();
        assert_eq!(
            store.profile("default").unwrap_err().kind(),
            Kind::Unauthenticated
        );
        store.save_profile("default", &profile()).unwrap();
        let mut tokens = TokenCache::new();
        tokens.insert(
            "https://vault.azure.net".into(),
            CachedToken {
                access_token: "a.b.c".into(),
                expires_on: 7,
            },
        );
        store.save_tokens("default", &tokens).unwrap();
        assert_eq!(store.profile("default").unwrap().client_secret, "s3cret");
        assert_eq!(store.tokens("default").len(), 1);
        assert!(!format!("{:?}", profile()).contains("s3cret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for path in [store.profile_path("default"), store.tokens_path("default")] {
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            }
            let mode = fs::metadata(tmp.path().join("cfg/profiles"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(store.remove_profile("default").unwrap());
        assert!(!store.remove_profile("default").unwrap());
        assert!(store.tokens("default").is_empty());
    }

    #[test]
    fn profile_names_are_plain() {
        for bad in ["", "../x", "a/b", "a.b"] {
            assert_eq!(check_name(bad).unwrap_err().kind(), Kind::Usage, "{bad}");
        }
        check_name("contoso-admin_2").unwrap();
    }
}
