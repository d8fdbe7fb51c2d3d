//! RSA operations on vault keys, byte-compatible with the Azure SDKs' local providers:
//! `RSA-OAEP` = OAEP/SHA-1/MGF1-SHA-1, `RSA-OAEP-256` = OAEP/SHA-256/MGF1-SHA-256,
//! `RS*` = PKCS#1 v1.5 over a caller-computed digest, `PS*` = PSS with MGF1(hash) and a salt as
//! long as the digest. Everything comes from aws-lc-rs.
//!
//! `RSA1_5` is refused: a PKCS#1 v1.5 decryption oracle (Bleichenbacher/Marvin) would let a
//! principal holding only `decrypt` forge signatures.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, KeyPairComponents, KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, PublicKeyComponents, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding, RsaParameters};
use zeroize::Zeroizing;

use crate::model::RsaPrivateComponents;
use crate::Error;

/// Encryption / key-wrap algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionAlgorithm {
    /// `RSA-OAEP` (SHA-1).
    RsaOaep,
    /// `RSA-OAEP-256`.
    RsaOaep256,
}

impl EncryptionAlgorithm {
    /// Parses a JWA name.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "RSA-OAEP" => Ok(Self::RsaOaep),
            "RSA-OAEP-256" => Ok(Self::RsaOaep256),
            "RSA1_5" => Err(Error::bad(
                "Algorithm RSA1_5 is not supported by this vault (PKCS#1 v1.5 decryption is \
                 vulnerable to padding-oracle attacks); use RSA-OAEP-256",
            )),
            other => Err(Error::bad(format!(
                "Unknown or unsupported encryption algorithm '{other}' for an RSA key; use \
                 RSA-OAEP or RSA-OAEP-256"
            ))),
        }
    }

    /// The JWA name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaOaep => "RSA-OAEP",
            Self::RsaOaep256 => "RSA-OAEP-256",
        }
    }

    fn oaep(self) -> &'static aws_lc_rs::rsa::OaepAlgorithm {
        match self {
            Self::RsaOaep => &OAEP_SHA1_MGF1SHA1,
            Self::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
        }
    }
}

/// Signature algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// PKCS#1 v1.5, SHA-256.
    Rs256,
    /// PKCS#1 v1.5, SHA-384.
    Rs384,
    /// PKCS#1 v1.5, SHA-512.
    Rs512,
    /// PSS, SHA-256.
    Ps256,
    /// PSS, SHA-384.
    Ps384,
    /// PSS, SHA-512.
    Ps512,
}

impl SignatureAlgorithm {
    /// Parses a JWA name.
    pub fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            other => {
                return Err(Error::bad(format!(
                    "Unknown or unsupported signature algorithm '{other}' for an RSA key; use \
                     RS256, RS384, RS512, PS256, PS384 or PS512"
                )))
            }
        })
    }

    /// The JWA name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Rs256 | Self::Ps256 => &digest::SHA256,
            Self::Rs384 | Self::Ps384 => &digest::SHA384,
            Self::Rs512 | Self::Ps512 => &digest::SHA512,
        }
    }

    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            Self::Rs256 => &signature::RSA_PKCS1_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_SHA512,
            Self::Ps256 => &signature::RSA_PSS_SHA256,
            Self::Ps384 => &signature::RSA_PSS_SHA384,
            Self::Ps512 => &signature::RSA_PSS_SHA512,
        }
    }

    /// Verification parameters (public so tests and callers can verify locally).
    pub fn parameters(self) -> &'static RsaParameters {
        match self {
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        }
    }

    fn import_digest(self, digest: &[u8]) -> Result<Digest, Error> {
        Digest::import_less_safe(digest, self.digest()).map_err(|_| {
            Error::bad(format!(
                "The digest for {} must be {} bytes long, not {}",
                self.as_str(),
                self.digest().output_len(),
                digest.len()
            ))
        })
    }
}

/// A new private key: PKCS#8 (wiped on drop) and its public components.
pub(crate) struct KeyMaterial {
    pub(crate) pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
}

/// Generates an RSA key of `bits` (2048, 3072 or 4096) bits, exponent 65537.
pub(crate) fn generate(bits: u32) -> Result<KeyMaterial, Error> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        other => {
            return Err(Error::bad(format!(
                "Unsupported key size {other}: RSA keys must be 2048, 3072 or 4096 bits"
            )))
        }
    };
    let pair = KeyPair::generate(size).map_err(|_| atrest_crypto::Error::Rsa)?;
    material(&pair)
}

/// Builds a key from imported JWK components, checking they are consistent.
pub(crate) fn import(components: &RsaPrivateComponents) -> Result<KeyMaterial, Error> {
    let n = strip_zeros(&components.n);
    let e = strip_zeros(&components.e);
    let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
    if !(2048..=4096).contains(&bits) {
        return Err(Error::bad(format!(
            "Unsupported RSA key size {bits}: imported keys must be 2048 to 4096 bits"
        )));
    }
    let parts = KeyPairComponents {
        public_key: PublicKeyComponents { n, e },
        d: &components.d[..],
        p: &components.p[..],
        q: &components.q[..],
        dP: &components.dp[..],
        dQ: &components.dq[..],
        qInv: &components.qi[..],
    };
    let pair = KeyPair::from_components(&parts)
        .map_err(|_| Error::bad("The RSA key's components are inconsistent or invalid"))?;
    material(&pair)
}

fn material(pair: &KeyPair) -> Result<KeyMaterial, Error> {
    let der = pair.as_der().map_err(|_| atrest_crypto::Error::Rsa)?;
    let public = pair.public_key();
    Ok(KeyMaterial {
        pkcs8: Zeroizing::new(der.as_ref().to_vec()),
        n: public.modulus().big_endian_without_leading_zero().to_vec(),
        e: public.exponent().big_endian_without_leading_zero().to_vec(),
    })
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A key version's private key, parsed once for signing and for OAEP decryption. Parsing
/// validates the key and each parsed key keeps its Montgomery contexts and blinding values:
/// together more than the private-key operation itself, so the vault caches these. aws-lc
/// wipes the key's memory when the last reference is dropped.
pub(crate) struct PrivateKey {
    signing: KeyPair,
    decrypting: OaepPrivateDecryptingKey,
}

impl PrivateKey {
    /// Parses a PKCS#8 RSA private key.
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, Error> {
        let signing = KeyPair::from_pkcs8(pkcs8).map_err(|_| atrest_crypto::Error::Rsa)?;
        let decrypting =
            PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|_| atrest_crypto::Error::Rsa)?;
        let decrypting =
            OaepPrivateDecryptingKey::new(decrypting).map_err(|_| atrest_crypto::Error::Rsa)?;
        Ok(Self {
            signing,
            decrypting,
        })
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(redacted)")
    }
}

/// Signs a digest.
pub(crate) fn sign(
    key: &PrivateKey,
    alg: SignatureAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, Error> {
    let digest = alg.import_digest(digest)?;
    let mut out = vec![0u8; key.signing.public_modulus_len()];
    key.signing
        .sign_digest(alg.encoding(), &digest, &mut out)
        .map_err(|_| atrest_crypto::Error::Rsa)?;
    Ok(out)
}

/// Verifies a signature over a digest with the public key `(n, e)`.
pub(crate) fn verify(
    n: &[u8],
    e: &[u8],
    alg: SignatureAlgorithm,
    digest: &[u8],
    sig: &[u8],
) -> Result<bool, Error> {
    let digest = alg.import_digest(digest)?;
    let public = PublicKeyComponents { n, e };
    let parsed = public
        .to_parsed_public_key(alg.parameters())
        .map_err(|_| atrest_crypto::Error::Rsa)?;
    Ok(parsed.verify_digest_sig(&digest, sig).is_ok())
}

/// OAEP-encrypts with the public key `(n, e)`.
pub(crate) fn encrypt(
    n: &[u8],
    e: &[u8],
    alg: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let public: PublicEncryptingKey = PublicKeyComponents { n, e }
        .try_into()
        .map_err(|_| atrest_crypto::Error::Rsa)?;
    let key = OaepPublicEncryptingKey::new(public).map_err(|_| atrest_crypto::Error::Rsa)?;
    let max = key.max_plaintext_size(alg.oaep());
    if plaintext.len() > max {
        return Err(Error::bad(format!(
            "The plaintext is {} bytes long; {} with this key takes at most {max}",
            plaintext.len(),
            alg.as_str()
        )));
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(alg.oaep(), plaintext, &mut out, None)
        .map_err(|_| atrest_crypto::Error::Rsa)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// OAEP-decrypts; the plaintext is wiped on drop. Any failure is the same opaque error.
pub(crate) fn decrypt(
    key: &PrivateKey,
    alg: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut out = Zeroizing::new(vec![0u8; key.decrypting.min_output_size()]);
    let len = key
        .decrypting
        .decrypt(alg.oaep(), ciphertext, &mut out, None)
        .map_err(|_| {
            Error::Undecryptable(
                "The ciphertext could not be decrypted with this key and algorithm",
            )
        })?
        .len();
    out.truncate(len);
    Ok(out)
}
