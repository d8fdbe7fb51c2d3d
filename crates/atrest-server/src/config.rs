//! Configuration: a raw, optional-everything form read from TOML and flags, validated into
//! [`Settings`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Configuration as written in a TOML file or given as flags; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawConfig {
    /// Where keys, certificates, the database and blobs live.
    pub data_dir: Option<PathBuf>,
    /// Socket address to listen on, e.g. `127.0.0.1:8443`.
    pub listen: Option<String>,
    /// Metadata database: `postgres://user:password@host:port/db` or a SQLite file path.
    /// Default: SQLite `meta.db` in the data directory.
    pub database: Option<String>,
    /// Extra host names (or IPs) to put in the server certificate.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// DNS suffix under which vaults are addressed as `{vault}.{suffix}`.
    pub vault_dns_suffix: Option<String>,
    /// Host aliases for vaults: `"localhost" = "demo"` serves vault `demo` at
    /// `https://localhost:{port}`. A key with a port (`"localhost:8443"`) matches only that port.
    #[serde(default)]
    pub vault_aliases: std::collections::BTreeMap<String, String>,
    /// How often cached account keys are revalidated against their vault, in seconds.
    pub key_check_interval_secs: Option<u64>,
    /// Largest request body accepted outside streaming uploads, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Accounts: SKUs allowing CMK, RSA sizes, outage limit, regions, remote vaults.
    #[serde(default)]
    pub accounts: atrest_accounts::RawAccountsConfig,
    /// Connection limits and timeouts.
    #[serde(default)]
    pub connections: RawConnectionLimits,
    /// Public base URL (`https://host[:port]`): the token issuer and discovery documents are
    /// built from it. Default: `https://localhost:{port}` on a loopback or unspecified listen
    /// address, `https://{listen}` otherwise.
    pub public_url: Option<String>,
    /// Limits on failed sign-ins at the token endpoint.
    #[serde(default)]
    pub token_endpoint: RawTokenEndpointLimits,
}

/// The `[token_endpoint]` table as written; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawTokenEndpointLimits {
    /// Failed sign-ins allowed per client id (in a tenant) within `window_secs`.
    pub failed_attempts_per_client: Option<u32>,
    /// Failed sign-ins allowed per client IP address within `window_secs`.
    pub failed_attempts_per_address: Option<u32>,
    /// The window over which the allowances refill, in seconds.
    pub window_secs: Option<u64>,
    /// Client secret checks running at once.
    pub concurrent_secret_checks: Option<usize>,
}

impl RawTokenEndpointLimits {
    fn validate(self) -> Result<atrest_identity::TokenEndpointLimits, SettingsError> {
        let defaults = atrest_identity::TokenEndpointLimits::default();
        let positive = |name: &'static str, value: Option<u64>, default: u64| match value {
            Some(0) => Err(SettingsError::Limit(name)),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        Ok(atrest_identity::TokenEndpointLimits {
            failures_per_client: positive(
                "token_endpoint.failed_attempts_per_client",
                self.failed_attempts_per_client.map(u64::from),
                u64::from(defaults.failures_per_client),
            )? as u32,
            failures_per_address: positive(
                "token_endpoint.failed_attempts_per_address",
                self.failed_attempts_per_address.map(u64::from),
                u64::from(defaults.failures_per_address),
            )? as u32,
            window: Duration::from_secs(positive(
                "token_endpoint.window_secs",
                self.window_secs,
                defaults.window.as_secs(),
            )?),
            concurrent_secret_checks: positive(
                "token_endpoint.concurrent_secret_checks",
                self.concurrent_secret_checks.map(|v| v as u64),
                defaults.concurrent_secret_checks as u64,
            )? as usize,
        })
    }
}

/// The `[connections]` table as written; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawConnectionLimits {
    /// Open connections at most; at the cap new clients wait in the listen backlog.
    pub max: Option<usize>,
    /// Open connections per client IP address at most; more are closed at once.
    pub max_per_ip: Option<usize>,
    /// Seconds a client has to send a request head (and, on an idle HTTP/1.1 keep-alive
    /// connection, to start the next one).
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds without a byte moving in either direction after which a connection is closed.
    pub idle_timeout_secs: Option<u64>,
    /// Largest request head (HTTP/1.1) or header list (HTTP/2), in bytes.
    pub max_header_bytes: Option<usize>,
    /// Concurrent streams per HTTP/2 connection.
    pub http2_max_concurrent_streams: Option<u32>,
}

/// Validated connection limits.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections per client IP address at most.
    pub max_connections_per_ip: usize,
    /// Deadline for a request head.
    pub header_read_timeout: Duration,
    /// Idle connections are closed after this.
    pub idle_timeout: Duration,
    /// Largest request head / header list in bytes.
    pub max_header_bytes: usize,
    /// Concurrent streams per HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
}

impl RawConnectionLimits {
    fn validate(self) -> Result<ConnectionLimits, SettingsError> {
        let positive = |name: &'static str, value: Option<u64>, default: u64| match value {
            Some(0) => Err(SettingsError::Limit(name)),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let as_u64 = |v: Option<usize>| v.map(|v| v as u64);
        Ok(ConnectionLimits {
            max_connections: positive("connections.max", as_u64(self.max), 4096)? as usize,
            max_connections_per_ip: positive(
                "connections.max_per_ip",
                as_u64(self.max_per_ip),
                256,
            )? as usize,
            header_read_timeout: Duration::from_secs(positive(
                "connections.header_read_timeout_secs",
                self.header_read_timeout_secs,
                30,
            )?),
            idle_timeout: Duration::from_secs(positive(
                "connections.idle_timeout_secs",
                self.idle_timeout_secs,
                120,
            )?),
            max_header_bytes: positive(
                "connections.max_header_bytes",
                as_u64(self.max_header_bytes),
                64 * 1024,
            )? as usize,
            http2_max_concurrent_streams: positive(
                "connections.http2_max_concurrent_streams",
                self.http2_max_concurrent_streams.map(u64::from),
                256,
            )? as u32,
        })
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Metadata database; `None`: SQLite in the data directory.
    pub database: Option<atrest_store::DatabaseLocation>,
    /// Names in the server certificate besides localhost, 127.0.0.1 and ::1.
    pub hosts: Vec<String>,
    /// Vault DNS suffix.
    pub vault_dns_suffix: String,
    /// Vault host aliases (host or host:port → vault name).
    pub vault_aliases: Vec<(String, String)>,
    /// Account key revalidation interval.
    pub key_check_interval: Duration,
    /// Request body limit.
    pub max_body_bytes: usize,
    /// Accounts settings (validated at start, where the data dir is known).
    pub accounts: atrest_accounts::RawAccountsConfig,
    /// Connection limits and timeouts.
    pub connections: ConnectionLimits,
    /// Public base URL without a trailing slash; `None`: derived from the bound address.
    pub public_url: Option<String>,
    /// Limits on failed sign-ins at the token endpoint.
    pub token_endpoint: atrest_identity::TokenEndpointLimits,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The listen address does not parse.
    #[error("listen address '{0}' is not a socket address such as 127.0.0.1:8443")]
    Listen(String),
    /// A host name is not acceptable.
    #[error("host '{0}' is not a valid DNS name or IP address")]
    Host(String),
    /// An alias names an invalid vault.
    #[error("vault alias '{0}' → '{1}': vault names are 3–24 letters, digits and hyphens")]
    Alias(String, String),
    /// A limit is zero.
    #[error("{0} must be greater than 0")]
    Limit(&'static str),
    /// The public URL is not `https://host[:port]`.
    #[error("public_url '{0}' must be https://HOST or https://HOST:PORT, without a path")]
    PublicUrl(String),
    /// The interval is out of range.
    #[error("key_check_interval_secs must be between 1 and 3600")]
    Interval,
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Default listen address.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Default vault DNS suffix.
pub(crate) const DEFAULT_VAULT_DNS_SUFFIX: &str = "vault.atrest.localhost";

impl RawConfig {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SettingsError> {
        let file_error = |message: String| SettingsError::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        toml::from_str(&text).map_err(|e| file_error(e.to_string()))
    }
}

impl Settings {
    /// Validates raw configuration, filling in defaults.
    pub fn from_raw(raw: RawConfig) -> Result<Self, SettingsError> {
        let listen_text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text
            .parse()
            .map_err(|_| SettingsError::Listen(listen_text.clone()))?;
        for host in &raw.hosts {
            if !valid_host(host) {
                return Err(SettingsError::Host(host.clone()));
            }
        }
        let vault_dns_suffix = raw
            .vault_dns_suffix
            .unwrap_or_else(|| DEFAULT_VAULT_DNS_SUFFIX.to_owned());
        if !valid_host(&vault_dns_suffix) {
            return Err(SettingsError::Host(vault_dns_suffix));
        }
        let mut vault_aliases = Vec::new();
        for (host, vault) in raw.vault_aliases {
            let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            if !valid_host(bare) || !valid_vault_name(&vault) {
                return Err(SettingsError::Alias(host, vault));
            }
            vault_aliases.push((host.to_ascii_lowercase(), vault));
        }
        let interval = raw.key_check_interval_secs.unwrap_or(30);
        if !(1..=3600).contains(&interval) {
            return Err(SettingsError::Interval);
        }
        let public_url = raw
            .public_url
            .map(|url| validate_public_url(&url).ok_or(SettingsError::PublicUrl(url)))
            .transpose()?;
        Ok(Self {
            data_dir: raw.data_dir.unwrap_or_else(|| PathBuf::from("atrest-data")),
            listen,
            database: raw
                .database
                .filter(|d| !d.is_empty())
                .map(|d| atrest_store::DatabaseLocation::parse(&d)),
            hosts: raw.hosts,
            vault_dns_suffix,
            vault_aliases,
            key_check_interval: Duration::from_secs(interval),
            max_body_bytes: raw.max_body_bytes.unwrap_or(1024 * 1024),
            accounts: raw.accounts,
            connections: raw.connections.validate()?,
            public_url,
            token_endpoint: raw.token_endpoint.validate()?,
        })
    }
}

/// `https://host[:port]` (a trailing slash is dropped); `None` when it is not that.
fn validate_public_url(url: &str) -> Option<String> {
    let authority = url.strip_prefix("https://")?.trim_end_matches('/');
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (v6, after) = bracketed.split_once(']')?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (v6.parse::<std::net::Ipv6Addr>().is_ok(), port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (valid_host(host), Some(port)),
            None => (valid_host(authority), None),
        },
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    (host_ok && port_ok).then(|| format!("https://{}", authority.to_ascii_lowercase()))
}

/// The public URL when none is configured: what the startup banner shows.
pub(crate) fn default_public_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("https://{addr}")
    }
}

fn valid_host(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
            }))
}

/// Vault names: 3–24 characters, letters, digits and hyphens, starting with a letter.
pub(crate) fn valid_vault_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_usable() {
        let s = Settings::from_raw(RawConfig::default()).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.key_check_interval, Duration::from_secs(30));
    }

    #[test]
    fn bad_values_are_named() {
        let raw = RawConfig {
            listen: Some("nope".into()),
            ..Default::default()
        };
        assert!(Settings::from_raw(raw)
            .unwrap_err()
            .to_string()
            .contains("'nope'"));
        let mut raw = RawConfig::default();
        raw.vault_aliases.insert("localhost".into(), "x".into());
        assert!(matches!(
            Settings::from_raw(raw),
            Err(SettingsError::Alias(..))
        ));
        let raw: RawConfig =
            toml::from_str("listen = \"127.0.0.1:0\"\n[vault_aliases]\n\"localhost\" = \"demo\"\n")
                .unwrap();
        let s = Settings::from_raw(raw).unwrap();
        assert_eq!(
            s.vault_aliases,
            vec![("localhost".to_owned(), "demo".to_owned())]
        );
        assert!(toml::from_str::<RawConfig>("unknown = 1").is_err());
    }

    #[test]
    fn public_url_and_token_endpoint_limits() {
        let parse = |text: &str| Settings::from_raw(toml::from_str(text).unwrap());
        let s = parse("").unwrap();
        assert_eq!(s.public_url, None);
        assert_eq!(
            s.token_endpoint,
            atrest_identity::TokenEndpointLimits::default()
        );
        let s = parse("public_url = \"https://Atrest.example.com:8443/\"").unwrap();
        assert_eq!(
            s.public_url.as_deref(),
            Some("https://atrest.example.com:8443")
        );
        let s = parse("public_url = \"https://[::1]:8443\"").unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://[::1]:8443"));
        for bad in [
            "http://atrest.example.com",
            "https://atrest.example.com/path",
            "https://",
            "https://host:0",
            "https://host:port",
            "https://ho st",
        ] {
            assert!(
                matches!(
                    parse(&format!("public_url = \"{bad}\"")),
                    Err(SettingsError::PublicUrl(_))
                ),
                "{bad}"
            );
        }
        let s = parse(
            "[token_endpoint]\nfailed_attempts_per_client = 3\nfailed_attempts_per_address = 7\nwindow_secs = 10\nconcurrent_secret_checks = 2\n",
        )
        .unwrap();
        assert_eq!(
            s.token_endpoint,
            atrest_identity::TokenEndpointLimits {
                failures_per_client: 3,
                failures_per_address: 7,
                window: Duration::from_secs(10),
                concurrent_secret_checks: 2,
            }
        );
        assert!(matches!(
            parse("[token_endpoint]\nwindow_secs = 0\n"),
            Err(SettingsError::Limit(_))
        ));
        assert_eq!(
            default_public_url("127.0.0.1:8443".parse().unwrap()),
            "https://localhost:8443"
        );
        assert_eq!(
            default_public_url("0.0.0.0:8443".parse().unwrap()),
            "https://localhost:8443"
        );
        assert_eq!(
            default_public_url("10.0.0.5:443".parse().unwrap()),
            "https://10.0.0.5:443"
        );
    }
}
