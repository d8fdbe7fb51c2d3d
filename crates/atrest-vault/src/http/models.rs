//! Key Vault wire models (field names exactly as the SDKs expect; bytes are base64url without
//! padding; times are integer unix seconds) and their conversions from and to domain types.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::ApiError;
use crate::model::{
    DeletedKey, KeyBundle, KeyOp, KeyType, KeyUpdate, LifetimeAction, NewKey, RotationAction,
    RotationPolicy, RotationTrigger, RsaPrivateComponents,
};
use crate::IsoDuration;

// ----- responses -------------------------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct JsonWebKey {
    kid: String,
    kty: &'static str,
    key_ops: Vec<&'static str>,
    n: String,
    e: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attributes {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    created: i64,
    updated: i64,
    recovery_level: &'static str,
    recoverable_days: i64,
    exportable: bool,
}

#[derive(Serialize)]
pub(crate) struct KeyBundleWire {
    key: JsonWebKey,
    attributes: Attributes,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletedKeyBundleWire {
    #[serde(flatten)]
    bundle: KeyBundleWire,
    recovery_id: String,
    deleted_date: i64,
    scheduled_purge_date: i64,
}

#[derive(Serialize)]
pub(crate) struct KeyItem {
    kid: String,
    attributes: Attributes,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeletedKeyItem {
    #[serde(flatten)]
    item: KeyItem,
    recovery_id: String,
    deleted_date: i64,
    scheduled_purge_date: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageWire<T> {
    pub(crate) value: Vec<T>,
    pub(crate) next_link: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct KeyOperationResult {
    pub(crate) kid: String,
    pub(crate) value: String,
}

#[derive(Serialize)]
pub(crate) struct ValueResult {
    pub(crate) value: String,
}

#[derive(Serialize)]
pub(crate) struct VerifyResult {
    pub(crate) value: bool,
}

fn attributes(bundle: &KeyBundle) -> Attributes {
    let a = &bundle.attributes;
    Attributes {
        enabled: a.enabled,
        nbf: a.nbf,
        exp: a.exp,
        created: a.created,
        updated: a.updated,
        recovery_level: bundle.recovery.level,
        recoverable_days: bundle.recovery.days,
        exportable: false,
    }
}

pub(crate) fn key_bundle(base: &str, bundle: &KeyBundle) -> KeyBundleWire {
    KeyBundleWire {
        key: JsonWebKey {
            kid: bundle.kid(base),
            kty: bundle.kty.as_str(),
            key_ops: bundle.key_ops.iter().map(|op| op.as_str()).collect(),
            n: b64(&bundle.n),
            e: b64(&bundle.e),
        },
        attributes: attributes(bundle),
        tags: bundle.tags.clone(),
    }
}

pub(crate) fn deleted_bundle(base: &str, deleted: &DeletedKey) -> DeletedKeyBundleWire {
    DeletedKeyBundleWire {
        bundle: key_bundle(base, &deleted.bundle),
        recovery_id: format!("{base}/deletedkeys/{}", deleted.bundle.name),
        deleted_date: deleted.deleted_date,
        scheduled_purge_date: deleted.scheduled_purge_date,
    }
}

/// A list item: `kid` without a version for key listings, with one for version listings.
pub(crate) fn key_item(base: &str, bundle: &KeyBundle, with_version: bool) -> KeyItem {
    let kid = if with_version {
        bundle.kid(base)
    } else {
        format!("{base}/keys/{}", bundle.name)
    };
    KeyItem {
        kid,
        attributes: attributes(bundle),
        tags: bundle.tags.clone(),
    }
}

pub(crate) fn deleted_item(base: &str, deleted: &DeletedKey) -> DeletedKeyItem {
    DeletedKeyItem {
        item: key_item(base, &deleted.bundle, false),
        recovery_id: format!("{base}/deletedkeys/{}", deleted.bundle.name),
        deleted_date: deleted.deleted_date,
        scheduled_purge_date: deleted.scheduled_purge_date,
    }
}

// ----- requests --------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct AttributesIn {
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
    exportable: Option<bool>,
}

#[derive(Deserialize)]
pub(crate) struct CreateKeyRequest {
    kty: String,
    key_size: Option<u32>,
    public_exponent: Option<u32>,
    key_ops: Option<Vec<String>>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
    release_policy: Option<serde_json::Value>,
}

impl CreateKeyRequest {
    pub(crate) fn into_domain(self) -> Result<NewKey, ApiError> {
        if self.release_policy.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(ApiError::bad(
                "release_policy (secure key release) is not supported",
            ));
        }
        let kty = parse_kty(&self.kty)?;
        let attrs = self.attributes.unwrap_or_default();
        if attrs.exportable == Some(true) {
            return Err(ApiError::bad("Exportable keys are not supported"));
        }
        Ok(NewKey {
            kty,
            key_size: self.key_size,
            public_exponent: self.public_exponent,
            key_ops: self.key_ops.as_deref().map(parse_ops).transpose()?,
            enabled: attrs.enabled,
            nbf: attrs.nbf,
            exp: attrs.exp,
            tags: self.tags.unwrap_or_default(),
        })
    }
}

/// A JWK with private parts; every string is wiped on drop.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub(crate) struct JwkIn {
    kty: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ImportKeyRequest {
    key: JwkIn,
    #[serde(rename = "Hsm")]
    hsm: Option<bool>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
    release_policy: Option<serde_json::Value>,
}

impl ImportKeyRequest {
    pub(crate) fn into_domain(self) -> Result<(NewKey, RsaPrivateComponents), ApiError> {
        if self.release_policy.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(ApiError::bad(
                "release_policy (secure key release) is not supported",
            ));
        }
        let jwk = &self.key;
        let mut kty = parse_kty(jwk.kty.as_deref().unwrap_or(""))?;
        if self.hsm == Some(true) {
            kty = KeyType::RsaHsm;
        }
        let field = |name: &str, value: &Option<String>| -> Result<Zeroizing<Vec<u8>>, ApiError> {
            let value = value.as_deref().ok_or_else(|| {
                ApiError::bad(format!("The RSA key to import must include '{name}' (all of n, e, d, p, q, dp, dq, qi)"))
            })?;
            b64_decode(value, &format!("key.{name}"))
        };
        let components = RsaPrivateComponents {
            n: field("n", &jwk.n)?.to_vec(),
            e: field("e", &jwk.e)?.to_vec(),
            d: field("d", &jwk.d)?,
            p: field("p", &jwk.p)?,
            q: field("q", &jwk.q)?,
            dp: field("dp", &jwk.dp)?,
            dq: field("dq", &jwk.dq)?,
            qi: field("qi", &jwk.qi)?,
        };
        let attrs = self.attributes.as_ref();
        let request = NewKey {
            kty,
            key_size: None,
            public_exponent: None,
            key_ops: jwk.key_ops.as_deref().map(parse_ops).transpose()?,
            enabled: attrs.and_then(|a| a.enabled),
            nbf: attrs.and_then(|a| a.nbf),
            exp: attrs.and_then(|a| a.exp),
            tags: self.tags.clone().unwrap_or_default(),
        };
        Ok((request, components))
    }
}

#[derive(Deserialize)]
pub(crate) struct UpdateKeyRequest {
    key_ops: Option<Vec<String>>,
    attributes: Option<AttributesIn>,
    tags: Option<BTreeMap<String, String>>,
    release_policy: Option<serde_json::Value>,
}

impl UpdateKeyRequest {
    pub(crate) fn into_domain(self) -> Result<KeyUpdate, ApiError> {
        if self.release_policy.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(ApiError::bad(
                "release_policy (secure key release) is not supported",
            ));
        }
        let attrs = self.attributes.unwrap_or_default();
        Ok(KeyUpdate {
            key_ops: self.key_ops.as_deref().map(parse_ops).transpose()?,
            enabled: attrs.enabled,
            nbf: attrs.nbf,
            exp: attrs.exp,
            tags: self.tags,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct KeyOperationRequest {
    pub(crate) alg: String,
    pub(crate) value: String,
}

#[derive(Deserialize)]
pub(crate) struct VerifyRequest {
    pub(crate) alg: String,
    pub(crate) digest: String,
    pub(crate) value: String,
}

#[derive(Deserialize)]
pub(crate) struct ValueRequest {
    pub(crate) value: String,
}

#[derive(Deserialize)]
pub(crate) struct RandomRequest {
    pub(crate) count: i64,
}

// ----- rotation policy -------------------------------------------------------------------

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TriggerWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    time_after_create: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_before_expiry: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ActionWire {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct LifetimeActionWire {
    #[serde(default)]
    trigger: TriggerWire,
    action: ActionWire,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyAttributesWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    created: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    updated: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RotationPolicyWire {
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default)]
    lifetime_actions: Vec<LifetimeActionWire>,
    #[serde(default)]
    attributes: PolicyAttributesWire,
}

impl RotationPolicyWire {
    pub(crate) fn from_domain(id: String, policy: &RotationPolicy) -> Self {
        Self {
            id: Some(id),
            lifetime_actions: policy
                .lifetime_actions
                .iter()
                .map(|a| {
                    let mut trigger = TriggerWire::default();
                    match &a.trigger {
                        RotationTrigger::AfterCreate(d) => {
                            trigger.time_after_create = Some(d.as_str().to_owned())
                        }
                        RotationTrigger::BeforeExpiry(d) => {
                            trigger.time_before_expiry = Some(d.as_str().to_owned())
                        }
                    }
                    LifetimeActionWire {
                        trigger,
                        action: ActionWire {
                            kind: a.action.as_str().to_owned(),
                        },
                    }
                })
                .collect(),
            attributes: PolicyAttributesWire {
                expiry_time: policy.expiry_time.as_ref().map(|d| d.as_str().to_owned()),
                created: policy.created,
                updated: policy.updated,
            },
        }
    }

    pub(crate) fn into_domain(self) -> Result<RotationPolicy, crate::Error> {
        let lifetime_actions = self
            .lifetime_actions
            .into_iter()
            .map(|a| {
                let trigger = match (a.trigger.time_after_create, a.trigger.time_before_expiry) {
                    (Some(d), None) => RotationTrigger::AfterCreate(IsoDuration::parse(&d)?),
                    (None, Some(d)) => RotationTrigger::BeforeExpiry(IsoDuration::parse(&d)?),
                    _ => {
                        return Err(crate::Error::BadParameter(
                            "Each lifetime action needs exactly one of trigger.timeAfterCreate and trigger.timeBeforeExpiry".into(),
                        ))
                    }
                };
                Ok(LifetimeAction { trigger, action: RotationAction::parse(&a.action.kind)? })
            })
            .collect::<Result<_, crate::Error>>()?;
        Ok(RotationPolicy {
            lifetime_actions,
            expiry_time: self
                .attributes
                .expiry_time
                .as_deref()
                .map(IsoDuration::parse)
                .transpose()?,
            created: None,
            updated: None,
        })
    }
}

// ----- helpers ---------------------------------------------------------------------------

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, with or without padding (standard base64 also accepted); the result is
/// wiped on drop.
pub(crate) fn b64_decode(value: &str, field: &str) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let trimmed = value.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .map(Zeroizing::new)
        .map_err(|_| ApiError::bad(format!("The field '{field}' is not valid base64url")))
}

fn parse_kty(kty: &str) -> Result<KeyType, ApiError> {
    KeyType::parse(kty).ok_or_else(|| match kty {
        "EC" | "EC-HSM" | "oct" | "oct-HSM" => ApiError::bad(format!(
            "Key type '{kty}' is not supported by this vault; use RSA or RSA-HSM"
        )),
        other => ApiError::bad(format!("Unknown key type '{other}'; use RSA or RSA-HSM")),
    })
}

fn parse_ops(ops: &[String]) -> Result<Vec<KeyOp>, ApiError> {
    let mut out = Vec::new();
    for op in ops {
        let parsed = KeyOp::parse(op)
            .ok_or_else(|| ApiError::bad(format!("Unknown key operation '{op}'")))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}
