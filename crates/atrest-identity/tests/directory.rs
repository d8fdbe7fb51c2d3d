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
        .authenticate_client(&tenant.tenant_id, &sp.principal.client_id, "nope", None)
        .await;
    assert!(matches!(wrong, Err(AuthError::BadCredentials)));
    let other_tenant = d
        .authenticate_client("other", &sp.principal.client_id, &sp.client_secret, None)
        .await;
    assert!(matches!(other_tenant, Err(AuthError::BadCredentials)));

    let who = d
        .authenticate_client(
            &tenant.tenant_id,
            &sp.principal.client_id,
            &sp.client_secret,
            None,
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
            &sp.client_secret,
            None
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

/// A PBKDF2 hash as versions before the keyed hash wrote them.
fn legacy_pbkdf2_hash(secret: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    let salt = [5u8; 16];
    let mut out = [0u8; 32];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(100_000).unwrap(),
        &salt,
        secret.as_bytes(),
        &mut out,
    );
    format!(
        "pbkdf2-sha256$100000${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

#[tokio::test]
async fn secrets_are_keyed_hashes_and_earlier_pbkdf2_hashes_migrate_on_use() {
    use atrest_store::directory::{DirectoryStore, SqlDirectoryStore};
    let dir = tempfile::tempdir().unwrap();
    let db = atrest_store::testing::fresh_database(dir.path()).await;
    let store = SqlDirectoryStore::new(db.clone());
    let d = Directory::open(db, &SecretKey::from_bytes([4; 32]))
        .await
        .unwrap();
    let op = d.bootstrap_operator().await.unwrap().unwrap().principal;
    let tenant = d.create_tenant(&op, "contoso").await.unwrap();
    let sp = d
        .create_service_principal(&op, &tenant.tenant_id, "app")
        .await
        .unwrap();
    let stored = |store: &SqlDirectoryStore| {
        let (tenant, client) = (tenant.tenant_id.clone(), sp.principal.client_id.clone());
        let store = store.clone();
        async move {
            store
                .principal_credentials(&tenant, &client)
                .await
                .unwrap()
                .unwrap()
                .secret_hash
                .unwrap()
        }
    };
    let hash = stored(&store).await;
    assert!(hash.starts_with("hmac-sha256$v1$"), "{hash}");
    assert!(!hash.contains(&sp.client_secret));

    // A principal from an earlier version: its PBKDF2 hash still verifies, once, and is then
    // replaced by the keyed hash.
    store
        .set_secret_hash(
            &sp.principal.object_id,
            &legacy_pbkdf2_hash(&sp.client_secret),
        )
        .await
        .unwrap();
    let wrong = d
        .authenticate_client(&tenant.tenant_id, &sp.principal.client_id, "nope", None)
        .await;
    assert!(matches!(wrong, Err(AuthError::BadCredentials)));
    assert!(stored(&store).await.starts_with("pbkdf2-sha256$"));
    let who = d
        .authenticate_client(
            &tenant.tenant_id,
            &sp.principal.client_id,
            &sp.client_secret,
            None,
        )
        .await
        .unwrap();
    assert_eq!(who.object_id, sp.principal.object_id);
    assert_eq!(stored(&store).await, hash, "re-hashed to the keyed hash");
    d.authenticate_client(
        &tenant.tenant_id,
        &sp.principal.client_id,
        &sp.client_secret,
        None,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = atrest_store::testing::fresh_database(dir.path()).await;
    let d = Directory::open_with(
        db,
        &SecretKey::from_bytes([4; 32]),
        atrest_identity::DirectoryOptions {
            public_url: "https://localhost".into(),
            token_endpoint: atrest_identity::TokenEndpointLimits {
                failures_per_client: 2,
                failures_per_address: 5,
                ..Default::default()
            },
        },
    )
    .await
    .unwrap();
    let op = d.bootstrap_operator().await.unwrap().unwrap().principal;
    let tenant = d.create_tenant(&op, "contoso").await.unwrap();
    let sp = d
        .create_service_principal(&op, &tenant.tenant_id, "app")
        .await
        .unwrap();
    let t = tenant.tenant_id.as_str();
    let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..2 {
        let r = d
            .authenticate_client(t, &sp.principal.client_id, "nope", Some(ip))
            .await;
        assert!(matches!(r, Err(AuthError::BadCredentials)), "{r:?}");
    }
    // The client id is limited now, even with the right secret, from any address.
    let r = d
        .authenticate_client(t, &sp.principal.client_id, &sp.client_secret, None)
        .await;
    match r {
        Err(AuthError::Throttled(wait)) => assert!(wait.as_secs() <= 30, "{wait:?}"),
        other => panic!("not limited: {other:?}"),
    }
    // Unknown client ids count against the address as well.
    for n in 0..3 {
        let r = d
            .authenticate_client(t, &format!("unknown-{n}"), "nope", Some(ip))
            .await;
        assert!(matches!(r, Err(AuthError::BadCredentials)), "{r:?}");
    }
    let r = d
        .authenticate_client(t, "unknown-9", "nope", Some(ip))
        .await;
    assert!(matches!(r, Err(AuthError::Throttled(_))), "{r:?}");
}
