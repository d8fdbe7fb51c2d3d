//! Infrastructure (double) encryption: a second layer under the platform infrastructure key,
//! chosen at creation, invisible to clients (whole and ranged reads are the same), and visible
//! on disk as an outer header that hides the account layer's.

use reqwest::Method;
use serde_json::json;

use crate::common::start;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_encrypted_objects_read_like_single_ones() {
    let env = start(|_| {}).await;
    let body = json!({"location": "westeurope", "kind": "TextAnalytics", "sku": {"name": "S0"},
        "properties": {"encryption": {"keySource": "Microsoft.CognitiveServices", "requireInfrastructureEncryption": true}}});
    let (status, account) = env
        .mgmt(Method::PUT, &env.account_url("double"), Some(body))
        .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(
        account["properties"]["encryption"]["requireInfrastructureEncryption"],
        true
    );
    let key = env.key1("double").await;

    let plaintext: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let resp = env
        .data(Method::PUT, "double", "datasets/d", &key)
        .body(plaintext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(
        env.get_dataset("double", "d", &key).await,
        (200, plaintext.clone())
    );
    for (first, last) in [
        (0u64, 0u64),
        (65_535, 65_536),
        (70_000, 200_000),
        (299_990, 299_999),
    ] {
        let part = env
            .data(Method::GET, "double", "datasets/d", &key)
            .header("Range", format!("bytes={first}-{last}"))
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(
            &part.bytes().await.unwrap()[..],
            &plaintext[first as usize..=last as usize],
            "range {first}-{last}"
        );
    }

    // Stored: the outer header names the infrastructure key; the account layer's header
    // (with its `ak:` key reference) is inside, encrypted.
    let files: Vec<Vec<u8>> = env
        .objects("westeurope")
        .all()
        .await
        .into_values()
        .collect();
    assert_eq!(files.len(), 1);
    assert!(contains(&files[0][..64], b"infrastructure:v1"));
    assert!(!contains(&files[0], b"ak:"), "the account layer is hidden");

    // Chosen at creation: a change is refused with the reason, and nothing changes.
    let (status, v) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("double"),
            Some(json!({"properties": {"encryption": {"keySource": "Microsoft.CognitiveServices", "requireInfrastructureEncryption": false}}})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot be changed"));
    assert_eq!(env.get_dataset("double", "d", &key).await.1, plaintext);
}
