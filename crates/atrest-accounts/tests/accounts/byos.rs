//! Bring-your-own-storage against Azurite (the Azure Storage emulator from npm, installed by
//! scripts/setup-interop): a Speech account's objects land, encrypted, in the customer's own
//! container; the customer's side is the official Python SDK (azure-storage-blob).

use atrest_accounts::UserStorage;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::start;
use crate::stores::{Azurite, AZURITE_ACCOUNT, AZURITE_KEY};

const CONTAINER: &str = "speech-data";

fn registration(azurite: &Azurite, name: &str, location: &str, container: &str) -> UserStorage {
    UserStorage {
        name: name.into(),
        resource_id: resource_id(name),
        location: location.into(),
        endpoint: azurite.endpoint.clone(),
        account: AZURITE_ACCOUNT.into(),
        access_key: AZURITE_KEY.into(),
        container: container.into(),
    }
}

fn resource_id(name: &str) -> String {
    format!("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/customer/providers/Microsoft.Storage/storageAccounts/{name}")
}

fn speech(location: &str, storage: Option<&str>) -> Value {
    let mut body = json!({"location": location, "kind": "SpeechServices", "sku": {"name": "S0"}});
    if let Some(name) = storage {
        body["properties"] = json!({"userOwnedStorage": [{"resourceId": resource_id(name)}]});
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn speech_data_lives_encrypted_in_the_customers_container() {
    let azurite = Azurite::start();
    azurite.create_container(CONTAINER);
    let registrations = vec![
        registration(&azurite, "contoso-west", "westeurope", CONTAINER),
        registration(&azurite, "contoso-east", "eastus", CONTAINER),
        registration(
            &azurite,
            "contoso-missing",
            "westeurope",
            "no-such-container",
        ),
    ];
    let env = start(|raw| raw.accounts.storage_accounts = registrations).await;

    // Every rule, each with its own error; nothing is created when one fails.
    for (name, body, expected, needle) in [
        (
            "tr",
            json!({"location": "westeurope", "kind": "TextTranslation", "sku": {"name": "S0"},
                   "properties": {"userOwnedStorage": [{"resourceId": resource_id("contoso-west")}]}}),
            400,
            "SpeechServices",
        ),
        (
            "s1",
            speech("westeurope", Some("unknown")),
            400,
            "not registered",
        ),
        (
            "s2",
            speech("westeurope", Some("contoso-east")),
            403,
            "region",
        ),
        (
            "s3",
            speech("westeurope", Some("contoso-missing")),
            400,
            "could not be used",
        ),
    ] {
        let (status, v) = env
            .mgmt(Method::PUT, &env.account_url(name), Some(body))
            .await;
        assert_eq!(status, expected, "{name}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{name}: {v}"
        );
        let (status, _) = env.mgmt(Method::GET, &env.account_url(name), None).await;
        assert_eq!(status, 404, "{name} was not created");
    }

    // Where data is stored is the Owner's decision (as Speech BYOS is in Azure).
    let contributor = crate::common::principal_with_role(&env, "Contributor").await;
    let (status, v) = crate::common::call(
        &env.client,
        Method::PUT,
        &env.account_url("speech"),
        &contributor,
        Some(speech("westeurope", Some("contoso-west"))),
    )
    .await;
    assert_eq!(status, 403, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("Owner"),
        "{v}"
    );

    let (status, account) = env
        .mgmt(
            Method::PUT,
            &env.account_url("speech"),
            Some(speech("westeurope", Some("contoso-west"))),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(
        account["properties"]["userOwnedStorage"][0]["resourceId"],
        resource_id("contoso-west")
    );
    let key = env.key1("speech").await;

    let plaintext: Vec<u8> = b"customer audio transcript, very private. "
        .iter()
        .copied()
        .cycle()
        .take(200_000)
        .collect();
    let resp = env
        .data(Method::PUT, "speech", "datasets/audio", &key)
        .body(plaintext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // The customer's container holds exactly that object, and only ciphertext.
    let blobs = azurite.blobs(CONTAINER);
    let blobs = blobs.as_object().unwrap();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let raw = base64_decode(blobs.values().next().unwrap().as_str().unwrap());
    assert!(raw.len() > plaintext.len());
    assert!(
        !raw.windows(20).any(|w| w == &plaintext[..20]),
        "the customer's container holds plaintext"
    );

    // atrest reads it back, whole and by range.
    assert_eq!(
        env.get_dataset("speech", "audio", &key).await,
        (200, plaintext.clone())
    );
    let part = env
        .data(Method::GET, "speech", "datasets/audio", &key)
        .header("Range", "bytes=70000-70099")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(&part.bytes().await.unwrap()[..], &plaintext[70_000..70_100]);

    // Back to platform storage: old objects stay where they are and stay readable.
    let (status, v) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("speech"),
            Some(json!({"properties": {"userOwnedStorage": []}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["properties"]["userOwnedStorage"].is_null());
    assert_eq!(env.get_dataset("speech", "audio", &key).await.1, plaintext);

    // Deleting the account deletes its objects from the customer's container too.
    let (status, _) = env
        .mgmt(Method::DELETE, &env.account_url("speech"), None)
        .await;
    assert_eq!(status, 200);
    assert!(azurite.blobs(CONTAINER).as_object().unwrap().is_empty());
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
