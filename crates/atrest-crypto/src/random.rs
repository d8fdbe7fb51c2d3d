//! Random bytes from the system CSPRNG (through aws-lc-rs).

use crate::Error;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), Error> {
    aws_lc_rs::rand::fill(buf).map_err(|_| Error::Random)
}

/// Returns `len` random bytes.
pub fn bytes(len: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; len];
    fill(&mut out)?;
    Ok(out)
}
