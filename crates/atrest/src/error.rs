//! The client's errors and the exit codes scripts can rely on.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other error (server refused the request, network, local files) |
//! | 2 | usage: bad flags or arguments |
//! | 3 | not found: the tenant, subscription, principal, vault, key, account or object does not exist |
//! | 4 | forbidden: the caller lacks a role, an access-policy permission, or the key forbids the operation |
//! | 5 | key inaccessible: the account's customer-managed key is disabled, deleted or not reachable, so its data cannot be read |
//! | 6 | not signed in, or the credentials or token were rejected |

use std::fmt;
use std::path::PathBuf;

/// Text for `--help`: the exit codes.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  error (server refused the request, network, local files)
  2  usage: bad flags or arguments
  3  not found (tenant, subscription, principal, vault, key, account, object)
  4  forbidden (missing role or access-policy permission, key disabled for the operation)
  5  key inaccessible: the account's customer-managed key cannot be used, its data is locked
  6  not signed in, or credentials/token rejected: run `atrest login`";

/// What went wrong, as far as a script cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Anything else.
    Failed,
    /// Bad arguments.
    Usage,
    /// The object does not exist.
    NotFound,
    /// The caller may not do this.
    Forbidden,
    /// The account's key cannot be used.
    KeyInaccessible,
    /// No profile, or credentials/token rejected.
    Unauthenticated,
}

impl Kind {
    /// The process exit code for this kind.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::Forbidden => 4,
            Self::KeyInaccessible => 5,
            Self::Unauthenticated => 6,
        }
    }
}

/// A client error: what happened, and what to do next.
#[derive(Debug)]
pub(crate) struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Result of a client command.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message`.
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A general failure.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message)
    }

    /// Bad arguments (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    /// Reading or writing a local file failed.
    pub(crate) fn io(what: &str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        let kind = if source.kind() == std::io::ErrorKind::NotFound {
            Kind::NotFound
        } else {
            Kind::Failed
        };
        Self::new(kind, format!("cannot {what} {}", path.display())).with_source(source)
    }

    /// Adds what to do next.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the underlying error (shown after the message).
    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// What to do next, if known.
    pub(crate) fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let kinds = [
            Kind::Failed,
            Kind::Usage,
            Kind::NotFound,
            Kind::Forbidden,
            Kind::KeyInaccessible,
            Kind::Unauthenticated,
        ];
        let codes: std::collections::BTreeSet<u8> = kinds.iter().map(|k| k.exit_code()).collect();
        assert_eq!(codes.len(), kinds.len());
        for code in codes {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code}  ")),
                "exit code {code} missing from --help"
            );
        }
    }
}
