//! The REST surface: the Key Vault keys data plane (addressed by host) and the ARM management
//! plane for vaults. Handlers are thin: extract, call one [`Vaults`] method, map to the wire.

mod arm;
mod arm_models;
mod error;
mod extract;
mod keys;
mod models;
mod ops;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post, put};
use axum::Router;

use crate::Vaults;

/// Largest request body accepted (bigger ones get 413 with a Key Vault error body).
pub const MAX_BODY: usize = 256 * 1024;

/// Router state: the vault service.
#[derive(Clone, Debug)]
pub struct VaultState {
    vaults: Vaults,
}

impl VaultState {
    /// Wraps the service for the routers.
    pub fn new(vaults: Vaults) -> Self {
        Self { vaults }
    }

    /// The service.
    pub fn vaults(&self) -> &Vaults {
        &self.vaults
    }
}

impl FromRef<VaultState> for Vaults {
    fn from_ref(state: &VaultState) -> Self {
        state.vaults.clone()
    }
}

/// The keys data plane, served at the root of each vault's host: `/keys…`, `/deletedkeys…`,
/// `/rng`.
pub fn data_plane_router<S>() -> Router<S>
where
    VaultState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/keys", get(keys::list))
        .route("/keys/restore", post(keys::restore))
        .route(
            "/keys/{name}",
            get(keys::get_latest)
                .put(keys::import)
                .patch(keys::update_latest)
                .delete(keys::delete),
        )
        .route(
            "/keys/{name}/",
            get(keys::get_latest).patch(keys::update_latest),
        )
        .route("/keys/{name}/create", post(keys::create))
        .route("/keys/{name}/versions", get(keys::list_versions))
        .route("/keys/{name}/backup", post(keys::backup))
        .route("/keys/{name}/rotate", post(keys::rotate))
        .route(
            "/keys/{name}/rotationpolicy",
            get(ops::get_policy).put(ops::set_policy),
        )
        .route(
            "/keys/{name}/{version}",
            get(keys::get_version).patch(keys::update_version),
        )
        .route("/keys/{name}/{version}/{op}", post(ops::versioned))
        .route("/keys/{name}//{op}", post(ops::latest))
        .route("/deletedkeys", get(keys::list_deleted))
        .route(
            "/deletedkeys/{name}",
            get(keys::get_deleted).delete(keys::purge),
        )
        .route("/deletedkeys/{name}/recover", post(keys::recover))
        .route("/rng", post(ops::random))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The management plane for vaults (ARM shape).
pub fn management_router<S>() -> Router<S>
where
    VaultState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    const VAULTS: &str =
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults";
    const DELETED: &str = "/subscriptions/{sub}/providers/Microsoft.KeyVault";
    Router::new()
        .route(VAULTS, get(arm::list))
        .route(
            &format!("{VAULTS}/{{name}}"),
            put(arm::put)
                .get(arm::get)
                .patch(arm::patch)
                .delete(arm::delete),
        )
        .route(
            &format!("{VAULTS}/{{name}}/accessPolicies/{{op}}"),
            put(arm::access_policies),
        )
        .route(
            &format!("{VAULTS}/{{name}}/auditRecords"),
            get(arm::audit_records),
        )
        .route(&format!("{DELETED}/deletedVaults"), get(arm::list_deleted))
        .route(
            &format!("{DELETED}/locations/{{location}}/deletedVaults/{{name}}"),
            get(arm::get_deleted),
        )
        .route(
            &format!("{DELETED}/locations/{{location}}/deletedVaults/{{name}}/purge"),
            post(arm::purge_deleted),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}
