//! Reading an RSA private key for `atrest key import`: a PEM file (PKCS#1 `RSA PRIVATE KEY`
//! or PKCS#8 `PRIVATE KEY`) or a JSON Web Key, turned into the JWK Key Vault's import takes.
//!
//! Only the DER structure is read here (the integers of `RSAPrivateKey`); the vault checks
//! the key itself.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded.
const RSA_OID: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

/// The JWK in `text` (PEM or JSON), or why it is not one.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let jwk: Value =
            serde_json::from_str(trimmed).map_err(|e| format!("not valid JSON: {e}"))?;
        if jwk["kty"].as_str().is_none() {
            return Err("the JSON is not a JWK (no kty)".into());
        }
        return Ok(jwk);
    }
    let (label, der) = pem(text)?;
    let rsa = match label.as_str() {
        "RSA PRIVATE KEY" => der,
        "PRIVATE KEY" => pkcs8_inner(&der)?,
        other => {
            return Err(format!(
            "a '{other}' PEM block is not an RSA private key (want PRIVATE KEY or RSA PRIVATE KEY)"
        ))
        }
    };
    rsa_private_key(&rsa)
}

fn pem(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text
        .find("-----BEGIN ")
        .ok_or("no PEM block (-----BEGIN …-----) found")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or("malformed PEM header")?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end = body
        .find(&format!("-----END {label}-----"))
        .ok_or("the PEM block has no matching END line")?;
    if body[..end].contains("Proc-Type") {
        return Err("encrypted PEM keys are not supported: decrypt it first (openssl pkey -in k.pem -out plain.pem)".into());
    }
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|e| format!("bad base64 in PEM: {e}"))?;
    Ok((label, der))
}

/// A DER reader over one level of TLVs.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn next(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let bytes = self.0;
        let (&found, rest) = bytes.split_first().ok_or("truncated DER")?;
        if found != tag {
            return Err(format!("unexpected DER tag {found:#04x} (want {tag:#04x})"));
        }
        let (&first, rest) = rest.split_first().ok_or("truncated DER")?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return Err("bad DER length".into());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err("truncated DER".into());
        }
        self.0 = &rest[len..];
        Ok(&rest[..len])
    }
}

fn pkcs8_inner(der: &[u8]) -> Result<Vec<u8>, String> {
    let mut outer = Der(Der(der).next(0x30)?);
    outer.next(0x02)?; // version
    let mut algorithm = Der(outer.next(0x30)?);
    if algorithm.next(0x06)? != RSA_OID {
        return Err("the PKCS#8 key is not an RSA key".into());
    }
    Ok(outer.next(0x04)?.to_vec())
}

fn rsa_private_key(der: &[u8]) -> Result<Value, String> {
    let mut seq = Der(Der(der).next(0x30)?);
    seq.next(0x02)?; // version
    let mut field = || -> Result<String, String> {
        let int = seq.next(0x02)?;
        let start = int
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(int.len().saturating_sub(1));
        Ok(URL_SAFE_NO_PAD.encode(&int[start..]))
    };
    let (n, e, d, p, q, dp, dq, qi) = (
        field()?,
        field()?,
        field()?,
        field()?,
        field()?,
        field()?,
        field()?,
        field()?,
    );
    Ok(
        json!({ "kty": "RSA", "n": n, "e": e, "d": d, "p": p, "q": q, "dp": dp, "dq": dq, "qi": qi }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PKCS#1 structure with tiny made-up integers (parsing only; not a usable key).
    fn toy_pkcs1() -> Vec<u8> {
        let ints: [&[u8]; 9] = [
            &[0],
            &[0x00, 0xC3],
            &[1, 0, 1],
            &[5],
            &[7],
            &[11],
            &[13],
            &[17],
            &[19],
        ];
        let mut body = Vec::new();
        for int in ints {
            body.push(0x02);
            body.push(u8::try_from(int.len()).unwrap());
            body.extend_from_slice(int);
        }
        let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
        der.extend(body);
        der
    }

    #[test]
    fn reads_pkcs1_and_pkcs8_pem() {
        let pkcs1 = toy_pkcs1();
        let pem1 = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            STANDARD.encode(&pkcs1)
        );
        let jwk = parse(&pem1).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["n"], URL_SAFE_NO_PAD.encode([0xC3]));
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["qi"], URL_SAFE_NO_PAD.encode([19]));

        let mut inner = vec![0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09];
        inner.extend_from_slice(RSA_OID);
        inner.extend_from_slice(&[0x05, 0x00, 0x04, u8::try_from(pkcs1.len()).unwrap()]);
        inner.extend_from_slice(&pkcs1);
        let mut pkcs8 = vec![0x30, u8::try_from(inner.len()).unwrap()];
        pkcs8.extend(inner);
        let pem8 = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&pkcs8)
        );
        assert_eq!(parse(&pem8).unwrap(), jwk);
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse("hello").is_err());
        assert!(parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
        assert!(
            parse("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----").is_err()
        );
        assert_eq!(parse(r#"{"kty":"RSA","n":"x"}"#).unwrap()["n"], "x");
        assert!(parse(r#"{"n":"x"}"#).is_err());
    }
}
