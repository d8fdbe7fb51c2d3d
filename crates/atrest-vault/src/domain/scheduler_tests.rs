//! The scheduler against a real database and a clock the tests move: rotation policies,
//! expiry notifications, and purging after the retention period (also under purge protection).

use std::sync::Arc;

use atrest_crypto::SecretKey;
use atrest_identity::{Directory, Principal};
use atrest_store::AuditLog;
use tokio::sync::broadcast::error::TryRecvError;

use super::{CreateMode, VaultSpec, Vaults, VaultsConfig};
use crate::clock::{Clock as _, ManualClock, DAY};
use crate::events::{VaultEvent, VaultEventKind};
use crate::hosts::VaultHosts;
use crate::model::{
    AccessPolicy, IsoDuration, KeyPermission, LifetimeAction, NewKey, RotationAction,
    RotationPolicy, RotationTrigger,
};
use crate::Error;

const START: i64 = 1_800_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    vaults: Vaults,
    clock: ManualClock,
    owner: Principal,
    subscription: String,
}

/// A vault `vault1` (retention 7 days) whose owner may do everything with keys.
async fn fixture(purge_protection: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = atrest_store::testing::fresh_database(dir.path()).await;
    let root = SecretKey::generate().unwrap();
    let audit = AuditLog::start(db.clone(), &[9u8; 32]).await.unwrap();
    let directory = Directory::open(db.clone(), &root).await.unwrap();
    let operator = directory
        .bootstrap_operator()
        .await
        .unwrap()
        .unwrap()
        .principal;
    let tenant = directory.create_tenant(&operator, "contoso").await.unwrap();
    let owner = directory
        .create_service_principal(&operator, &tenant.tenant_id, "owner")
        .await
        .unwrap()
        .principal;
    let subscription = directory
        .create_subscription(&operator, &tenant.tenant_id, "prod", Some(&owner.object_id))
        .await
        .unwrap()
        .subscription_id;
    let clock = ManualClock::new(START);
    let vaults = Vaults::new(VaultsConfig {
        db,
        audit,
        directory,
        root,
        hosts: VaultHosts {
            dns_suffix: "vault.test".into(),
            ..VaultHosts::default()
        },
        clock: Arc::new(clock.clone()),
    });
    let spec = VaultSpec {
        location: "westeurope".into(),
        tenant_id: Some(tenant.tenant_id.clone()),
        sku: None,
        soft_delete: Some(true),
        retention_days: Some(7),
        purge_protection: Some(purge_protection),
        access_policies: Some(vec![AccessPolicy {
            tenant_id: tenant.tenant_id.clone(),
            object_id: owner.object_id.clone(),
            application_id: None,
            keys: KeyPermission::ALL.to_vec(),
            secrets: vec![],
            certificates: vec![],
            storage: vec![],
        }]),
        tags: None,
        create_mode: CreateMode::Default,
    };
    vaults
        .put_vault(&owner, &subscription, "rg", "vault1", spec)
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        vaults,
        clock,
        owner,
        subscription,
    }
}

fn policy(actions: Vec<(RotationTrigger, RotationAction)>) -> RotationPolicy {
    RotationPolicy {
        lifetime_actions: actions
            .into_iter()
            .map(|(trigger, action)| LifetimeAction { trigger, action })
            .collect(),
        expiry_time: None,
        created: None,
        updated: None,
    }
}

fn days(text: &str) -> IsoDuration {
    IsoDuration::parse(text).unwrap()
}

fn pair(vault: &str, key: &str) -> Vec<(String, String)> {
    vec![(vault.to_owned(), key.to_owned())]
}

/// The events sent so far, as (kind, key).
fn drain(
    events: &mut tokio::sync::broadcast::Receiver<VaultEvent>,
) -> Vec<(VaultEventKind, String)> {
    let mut out = Vec::new();
    loop {
        match events.try_recv() {
            Ok(e) => out.push((e.kind, e.key_name.unwrap_or_default())),
            Err(TryRecvError::Empty | TryRecvError::Closed) => return out,
            Err(TryRecvError::Lagged(_)) => {}
        }
    }
}

#[tokio::test]
async fn policies_rotate_and_notify_when_due_and_only_once() {
    let f = fixture(false).await;
    let v = &f.vaults;
    let first = v
        .create_key(&f.owner, "vault1", "rotating", NewKey::rsa(2048))
        .await
        .unwrap()
        .version;
    v.set_rotation_policy(
        &f.owner,
        "vault1",
        "rotating",
        policy(vec![(
            RotationTrigger::AfterCreate(days("P30D")),
            RotationAction::Rotate,
        )]),
    )
    .await
    .unwrap();
    let mut expiring = NewKey::rsa(2048);
    expiring.exp = Some(START + 20 * DAY);
    v.create_key(&f.owner, "vault1", "expiring", expiring)
        .await
        .unwrap();
    v.set_rotation_policy(
        &f.owner,
        "vault1",
        "expiring",
        policy(vec![(
            RotationTrigger::BeforeExpiry(days("P10D")),
            RotationAction::Notify,
        )]),
    )
    .await
    .unwrap();
    let mut events = v.subscribe();

    // Day 9: nothing is due.
    let report = v.run_due_rotations(START + 9 * DAY).await.unwrap();
    assert_eq!(report, Default::default());

    // Day 11: ten days before expiry, one notification, and not again on the next pass.
    let report = v.run_due_rotations(START + 11 * DAY).await.unwrap();
    assert_eq!(report.near_expiry, pair("vault1", "expiring"));
    assert!(report.rotated.is_empty() && report.expired.is_empty());
    let again = v.run_due_rotations(START + 11 * DAY).await.unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(
        drain(&mut events),
        vec![(VaultEventKind::KeyNearExpiry, "expiring".to_owned())]
    );

    // Day 21: expired.
    let report = v.run_due_rotations(START + 21 * DAY).await.unwrap();
    assert_eq!(report.expired, pair("vault1", "expiring"));

    // Day 31: thirty days after creation, a new version becomes the current one.
    f.clock.set(START + 31 * DAY);
    let report = v.run_due_rotations(f.clock.now()).await.unwrap();
    assert_eq!(report.rotated, pair("vault1", "rotating"));
    let current = v
        .get_key(&f.owner, "vault1", "rotating", None)
        .await
        .unwrap()
        .version;
    assert_ne!(current, first, "the rotation made a new current version");
    // The new version is 0 days old: the next pass does nothing.
    let report = v.run_due_rotations(f.clock.now()).await.unwrap();
    assert!(report.rotated.is_empty(), "{report:?}");
}

#[tokio::test]
async fn purge_protection_holds_until_the_retention_ends_then_the_scheduler_purges() {
    let f = fixture(true).await;
    let v = &f.vaults;
    v.create_key(&f.owner, "vault1", "k", NewKey::rsa(2048))
        .await
        .unwrap();
    v.delete_key(&f.owner, "vault1", "k").await.unwrap();
    let refused = v.purge_deleted_key(&f.owner, "vault1", "k").await;
    assert!(
        matches!(refused, Err(Error::PurgeProtected { .. })),
        "{refused:?}"
    );

    // Six days in: still recoverable, nothing purged.
    let report = v.run_due_purges(START + 6 * DAY).await.unwrap();
    assert!(report.purged_keys.is_empty(), "{report:?}");
    assert!(v.get_deleted_key(&f.owner, "vault1", "k").await.is_ok());

    // Past the seven days of retention: purged by the scheduler.
    let report = v.run_due_purges(START + 7 * DAY + 1).await.unwrap();
    assert_eq!(report.purged_keys.len(), 1, "{report:?}");
    assert!(v.get_deleted_key(&f.owner, "vault1", "k").await.is_err());

    // The vault itself: soft-deleted, kept for the retention, then purged.
    f.clock.set(START + 8 * DAY);
    v.delete_vault(&f.owner, &f.subscription, "rg", "vault1")
        .await
        .unwrap();
    let deleted = v
        .get_deleted_vault(&f.owner, &f.subscription, "westeurope", "vault1")
        .await;
    assert!(deleted.is_ok(), "{deleted:?}");
    let report = v.run_due_purges(START + 14 * DAY).await.unwrap();
    assert!(report.purged_vaults.is_empty(), "{report:?}");
    let report = v.run_due_purges(START + 15 * DAY + 1).await.unwrap();
    assert_eq!(report.purged_vaults, vec!["vault1".to_owned()]);
    assert!(v
        .get_deleted_vault(&f.owner, &f.subscription, "westeurope", "vault1")
        .await
        .is_err());
}
