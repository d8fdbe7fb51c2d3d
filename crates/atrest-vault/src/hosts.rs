//! Which vault a request is for, from its `Host`.
//!
//! Key Vault clients address a vault by host only (`https://{vault}.vault.azure.net/keys/...`),
//! so atrest does the same: `{vault}.{dns_suffix}` in production, plus configured aliases
//! (`localhost:8443` → `demo`) for local use.

/// Host-to-vault mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultHosts {
    /// DNS suffix under which every vault has a host: `{vault}.{dns_suffix}`.
    pub dns_suffix: String,
    /// Extra hosts, `host` or `host:port`, each naming one vault. `host:port` entries are
    /// matched before bare `host` entries.
    pub aliases: Vec<(String, String)>,
    /// The port clients use, for building vault URIs from aliases without a port and from
    /// the DNS suffix; `None` or 443 means the default https port.
    pub public_port: Option<u16>,
}

impl VaultHosts {
    /// The vault addressed by `host` (a `Host` header value, `host[:port]`).
    pub fn resolve(&self, host: &str) -> Option<String> {
        let host = host.trim().trim_end_matches('.');
        if host.is_empty() {
            return None;
        }
        let bare = strip_port(host);
        if let Some((_, vault)) = self
            .aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(host))
        {
            return Some(vault.clone());
        }
        if let Some((_, vault)) = self
            .aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(bare))
        {
            return Some(vault.clone());
        }
        let suffix = self.dns_suffix.trim_matches('.');
        if suffix.is_empty() || bare.len() <= suffix.len() + 1 {
            return None;
        }
        let (label, rest) = bare.split_at(bare.len() - suffix.len());
        let label = label.strip_suffix('.')?;
        if !rest.eq_ignore_ascii_case(suffix) || label.contains('.') || label.is_empty() {
            return None;
        }
        Some(label.to_ascii_lowercase())
    }

    /// The `vaultUri` of vault `name`: its first alias, else `https://{name}.{dns_suffix}/`.
    pub fn vault_uri(&self, name: &str) -> String {
        if let Some((alias, _)) = self
            .aliases
            .iter()
            .find(|(_, vault)| vault.eq_ignore_ascii_case(name))
        {
            return if has_port(alias) {
                format!("https://{alias}/")
            } else {
                format!("https://{alias}{}/", self.port_suffix())
            };
        }
        format!(
            "https://{}.{}{}/",
            name.to_ascii_lowercase(),
            self.dns_suffix.trim_matches('.'),
            self.port_suffix()
        )
    }

    fn port_suffix(&self) -> String {
        match self.public_port {
            Some(port) if port != 443 => format!(":{port}"),
            _ => String::new(),
        }
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return match rest.find(']') {
            Some(end) => &host[..end + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

fn has_port(host: &str) -> bool {
    strip_port(host).len() != host.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> VaultHosts {
        VaultHosts {
            dns_suffix: "vault.atrest.test".into(),
            aliases: vec![
                ("localhost".into(), "demo".into()),
                ("127.0.0.1".into(), "protected".into()),
                ("localhost:9443".into(), "other".into()),
            ],
            public_port: Some(8443),
        }
    }

    #[test]
    fn port_specific_alias_wins_then_host_then_suffix() {
        let h = hosts();
        assert_eq!(h.resolve("localhost:9443").as_deref(), Some("other"));
        assert_eq!(h.resolve("localhost:8443").as_deref(), Some("demo"));
        assert_eq!(h.resolve("LOCALHOST").as_deref(), Some("demo"));
        assert_eq!(h.resolve("127.0.0.1:8443").as_deref(), Some("protected"));
        assert_eq!(
            h.resolve("kv1.vault.atrest.test:8443").as_deref(),
            Some("kv1")
        );
        assert_eq!(h.resolve("KV1.Vault.Atrest.Test").as_deref(), Some("kv1"));
        assert_eq!(h.resolve("a.b.vault.atrest.test"), None);
        assert_eq!(h.resolve("vault.atrest.test"), None);
        assert_eq!(h.resolve("evil-vault.atrest.test"), None);
        assert_eq!(h.resolve("example.com"), None);
        assert_eq!(h.resolve(""), None);
        assert_eq!(strip_port("[::1]:8443"), "[::1]");
    }

    #[test]
    fn vault_uris() {
        let h = hosts();
        assert_eq!(h.vault_uri("demo"), "https://localhost:8443/");
        assert_eq!(h.vault_uri("other"), "https://localhost:9443/");
        assert_eq!(h.vault_uri("kv1"), "https://kv1.vault.atrest.test:8443/");
    }
}
