//! Directory objects.

use serde::{Deserialize, Serialize};

/// What kind of identity a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalKind {
    /// The installation's operator: creates tenants, approves gated features.
    Operator,
    /// An application with a client id and secret.
    ServicePrincipal,
    /// A system-assigned managed identity owned by a resource (an account).
    ManagedIdentity,
    /// A person, for interactive login.
    User,
}

impl PrincipalKind {
    /// The name stored in the database and shown in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::ServicePrincipal => "servicePrincipal",
            Self::ManagedIdentity => "managedIdentity",
            Self::User => "user",
        }
    }

    /// Parses [`as_str`](Self::as_str) output.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "operator" => Self::Operator,
            "servicePrincipal" => Self::ServicePrincipal,
            "managedIdentity" => Self::ManagedIdentity,
            "user" => Self::User,
            _ => return None,
        })
    }
}

/// An authenticated caller, or a directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// Stable object id (what access policies name).
    pub object_id: String,
    /// Home tenant.
    pub tenant_id: String,
    /// Application (client) id used to obtain tokens.
    pub client_id: String,
    /// What kind of identity this is.
    pub kind: PrincipalKind,
    /// Human-readable name.
    pub display_name: String,
    /// Disabled principals can neither get tokens nor use them.
    pub enabled: bool,
    /// For a managed identity: the resource id that owns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_resource: Option<String>,
}

impl Principal {
    /// Whether this is the installation operator.
    pub fn is_operator(&self) -> bool {
        self.kind == PrincipalKind::Operator
    }
}

/// A directory (Azure AD tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Tenant id (a UUID).
    pub tenant_id: String,
    /// Human-readable name.
    pub display_name: String,
}

/// A subscription: the billing/ownership scope resources live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id (a UUID).
    pub subscription_id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Whether the operator approved customer-managed keys for this subscription.
    pub cmk_approved: bool,
}

/// Management-plane roles at subscription scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Read resources.
    Reader,
    /// Create, change and delete resources.
    Contributor,
    /// Contributor plus role assignment (and Speech BYOS).
    Owner,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "Reader",
            Self::Contributor => "Contributor",
            Self::Owner => "Owner",
        }
    }

    /// Parses [`as_str`](Self::as_str) output.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "Reader" => Self::Reader,
            "Contributor" => Self::Contributor,
            "Owner" => Self::Owner,
            _ => return None,
        })
    }
}
