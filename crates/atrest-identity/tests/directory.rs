//! Directory behaviour against a real SQLite database.

use atrest_crypto::SecretKey;
use atrest_identity::{AuthError, Directory, Error, Role, MANAGEMENT_AUDIENCE, VAULT_AUDIENCE};

async fn directory() -> (tempfile::TempDir, Directory) {
    let dir = tempfile::tempdir().unwrap();
    let db = atrest_store::testing::fresh_database(dir.path()).await;
    let directory = Directory::open(db, &SecretKey::from_bytes([3; 32]))
        .await
        .unwrap();
    (dir, directory)
}

#[tokio::test]
async fn operator_is_created_once_and_can_build_a_tenant() {
    let (_dir, d) = directory().await;
    let operator = d
        .bootstrap_operator()
        .await
        .unwrap()
        .expect("first start creates the operator");
    assert!(
        d.bootstrap_operator().await.unwrap().is_none(),
        "second start creates nothing"
    );
    let op = operator.principal;

    let tenant = d.create_tenant(&op, "contoso").await.unwrap();
    let sp = d
        .create_service_principal(&op, &tenant.tenant_id, "app")
        .await
        .unwrap();
    let sub = d
        .create_subscription(
            &op,
            &tenant.tenant_id,
            "prod",
            Some(&sp.principal.object_id),
        )
        .await
        .unwrap();
    assert_eq!(
        d.role_of(&sp.principal, &sub.subscription_id)
            .await
            .unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(
        d.list_subscriptions(&sp.principal).await.unwrap(),
        vec![sub.clone()]
    );

    // A non-operator cannot create tenants or principals.
    assert!(matches!(
        d.create_tenant(&sp.principal, "x").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        d.create_service_principal(&sp.principal, &tenant.tenant_id, "x")
            .await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn tokens_work_until_the_principal_is_disabled() {
    let (_dir, d) = directory().await;
    let op = d.bootstrap_operator().await.unwrap().unwrap().principal;
    let tenant = d.create_tenant(&op, "contoso").await.unwrap();
    let sp = d
        .create_service_principal(&op, &tenant.tenant_id, "app")
        .await
        .unwrap();

    let wrong = d
        .authenticate_client(&tenant.tenant_id, &sp.principal.client_id, "nope")
        .await;
    assert!(matches!(wrong, Err(AuthError::Invalid(_))));
    let other_tenant = d
        .authenticate_client("other", &sp.principal.client_id, &sp.client_secret)
        .await;
    assert!(matches!(other_tenant, Err(AuthError::Invalid(_))));

    let who = d
        .authenticate_client(
            &tenant.tenant_id,
            &sp.principal.client_id,
            &sp.client_secret,
        )
        .await
        .unwrap();
    let (token, lifetime) = d.issue_token(&who, VAULT_AUDIENCE).unwrap();
    assert!(lifetime >= 600);
    let header = format!("Bearer {token}");
    let caller = d.authenticate(Some(&header), VAULT_AUDIENCE).await.unwrap();
    assert_eq!(caller.object_id, sp.principal.object_id);
    // Again, from the verified-token cache: same principal; the audience is still checked.
    let again = d.authenticate(Some(&header), VAULT_AUDIENCE).await.unwrap();
    assert_eq!(again.object_id, sp.principal.object_id);

    assert!(matches!(
        d.authenticate(Some(&header), MANAGEMENT_AUDIENCE).await,
        Err(AuthError::Invalid(_))
    ));
    assert!(matches!(
        d.authenticate(None, VAULT_AUDIENCE).await,
        Err(AuthError::Missing)
    ));
    let mut tampered = token.clone();
    tampered.pop();
    assert!(matches!(
        d.authenticate(Some(&format!("Bearer {tampered}")), VAULT_AUDIENCE)
            .await,
        Err(AuthError::Invalid(_))
    ));

    let mut events = d.subscribe();
    d.set_principal_enabled(&op, &sp.principal.object_id, false)
        .await
        .unwrap();
    assert!(events.try_recv().is_ok(), "disabling is announced");
    assert!(matches!(
        d.authenticate(Some(&header), VAULT_AUDIENCE).await,
        Err(AuthError::PrincipalGone(_))
    ));
    assert!(matches!(
        d.authenticate_client(
            &tenant.tenant_id,
            &sp.principal.client_id,
            &sp.client_secret
        )
        .await,
        Err(AuthError::PrincipalGone(_))
    ));
}

#[tokio::test]
async fn signing_key_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = SecretKey::from_bytes([9; 32]);
    let d = Directory::open(
        atrest_store::testing::fresh_database(dir.path()).await,
        &root,
    )
    .await
    .unwrap();
    let op = d.bootstrap_operator().await.unwrap().unwrap().principal;
    let (token, _) = d.issue_token(&op, MANAGEMENT_AUDIENCE).unwrap();
    drop(d);
    let d = Directory::open(
        atrest_store::testing::fresh_database(dir.path()).await,
        &root,
    )
    .await
    .unwrap();
    let header = format!("Bearer {token}");
    assert_eq!(
        d.authenticate(Some(&header), MANAGEMENT_AUDIENCE)
            .await
            .unwrap()
            .object_id,
        op.object_id
    );
}
