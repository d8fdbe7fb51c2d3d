//! The directory: tenants, subscriptions, principals, client secrets, and the tokens that
//! prove who a caller is.
//!
//! * [`Directory`] is the domain facade: creating tenants, subscriptions, service principals and
//!   managed identities; authenticating client credentials; issuing and verifying tokens.
//! * [`router`] serves the Azure AD–shaped endpoints that `azure-identity` and
//!   `@azure/identity` use unmodified: OpenID discovery, the `client_credentials` token
//!   endpoint and the JWKS.
//!
//! Tokens are ES256 JWTs (`aud`, `iss`, `tid`, `oid`, `appid`, `exp`); every request that
//! presents one re-reads the principal, so disabling or deleting it takes effect at once.
//! The issuer is `{public_url}/{tenant}/v2.0` from configuration, never from the request, and
//! tokens naming another issuer are refused.

mod directory;
mod error;
mod model;
mod routes;
mod secret;
mod throttle;
mod tokens;

pub use directory::{Directory, DirectoryEvent, DirectoryOptions, NewServicePrincipal};
pub use error::{AuthError, Error};
pub use model::{Principal, PrincipalKind, Role, Subscription, Tenant};
pub use routes::{audit_router, router};
pub use throttle::{default_concurrent_secret_checks, TokenEndpointLimits};
pub use tokens::{Claims, TokenService};

/// Audience of tokens for the Key Vault data plane.
pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";
/// Audience of tokens for the management plane (Azure Resource Manager).
pub const MANAGEMENT_AUDIENCE: &str = "https://management.azure.com";
/// Audience of tokens for the accounts' data plane (Cognitive Services).
pub const SERVICE_AUDIENCE: &str = "https://cognitiveservices.azure.com";

/// Resources a token may be requested for.
pub const AUDIENCES: [&str; 3] = [VAULT_AUDIENCE, MANAGEMENT_AUDIENCE, SERVICE_AUDIENCE];
