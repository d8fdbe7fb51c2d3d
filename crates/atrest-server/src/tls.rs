//! The local CA and server certificate, made with rcgen on first start.
//!
//! The CA lives in the data directory (`tls/ca.pem`, key 0600); clients trust `ca.pem`. The
//! server certificate is re-issued whenever the configured host names change.

use std::fs;
use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::datadir::{write_atomic, write_secret, DataDir};

/// Errors making or loading TLS material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS files: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("TLS files hold invalid PEM: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
}

/// Loads or creates the CA, (re)issues the server certificate for `names`, and returns the
/// rustls configuration (HTTP/2 and HTTP/1.1 by ALPN).
pub(crate) fn server_config(
    data: &DataDir,
    names: &[String],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let issuer = load_or_create_ca(data)?;
    let names_file = data.tls("server.names");
    let wanted = names.join("\n");
    let current = fs::read_to_string(&names_file).unwrap_or_default();
    if current != wanted || !data.tls("server.pem").exists() || !data.tls("server.key").exists() {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "atrest server");
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        write_secret(&data.tls("server.key"), key.serialize_pem().as_bytes())?;
        write_atomic(&data.tls("server.pem"), cert.pem().as_bytes(), 0o644)?;
        write_atomic(&names_file, wanted.as_bytes(), 0o644)?;
    }
    let certs =
        CertificateDer::pem_file_iter(data.tls("server.pem"))?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(data.tls("server.key"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn load_or_create_ca(data: &DataDir) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let key_path = data.tls("ca.key");
    let cert_path = data.ca_cert();
    if key_path.exists() && cert_path.exists() {
        let key = KeyPair::from_pem(&fs::read_to_string(&key_path)?)?;
        return Ok(Issuer::from_ca_cert_pem(
            &fs::read_to_string(&cert_path)?,
            key,
        )?);
    }
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "atrest local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "atrest");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write_secret(&key_path, key.serialize_pem().as_bytes())?;
    write_atomic(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(Issuer::new(params, key))
}
