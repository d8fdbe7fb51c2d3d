/// Directory failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] atrest_store::Error),
    /// A name or id is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The object already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The object still holds others that must go first.
    #[error("{0}")]
    InUse(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Sealing or unsealing the token signing key failed.
    #[error("token signing key unavailable")]
    SigningKey,
}

/// Why a bearer token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error(
        "no bearer token: send 'Authorization: Bearer <token>' obtained from the token endpoint"
    )]
    Missing,
    /// The token is malformed, badly signed, expired or for another audience.
    #[error("the bearer token is not valid: {0}")]
    Invalid(String),
    /// Client credentials do not match: unknown tenant, unknown client id or wrong secret,
    /// deliberately not told apart.
    #[error("the tenant, client id or client secret is not valid")]
    BadCredentials,
    /// Too many failed sign-ins for this client id or from this address.
    #[error("too many failed sign-in attempts; try again in {} s", retry_after_secs(.0))]
    Throttled(std::time::Duration),
    /// The principal was deleted or disabled after the token was issued.
    #[error("the principal '{0}' no longer exists or is disabled")]
    PrincipalGone(String),
    /// The directory could not be read.
    #[error("the directory is unavailable")]
    Unavailable(#[from] Error),
}

/// Whole seconds to wait, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: &std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}
