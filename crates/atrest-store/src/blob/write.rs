//! The streamed writer: any size in constant memory, visible only once complete.

use std::io;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::{PART_SIZE, PART_UPLOADS};

/// Why [`put_stream`] failed. Either way nothing was written at the location.
#[derive(Debug, thiserror::Error)]
pub enum PutStreamError {
    /// The input stream failed.
    #[error("the input failed: {0}")]
    Input(io::Error),
    /// The store refused or could not be reached.
    #[error("the store failed: {0}")]
    Store(object_store::Error),
}

/// Writes `stream` as the object at `location`; returns the bytes written once the store has
/// acknowledged the whole object. Memory stays below `(PART_UPLOADS + 1) * PART_SIZE` plus
/// one input chunk whatever the object's size.
///
/// Up to [`PART_SIZE`] bytes go up in one `PUT` (buffered); a longer stream in a multipart upload of
/// [`PART_SIZE`] parts, visible only once completed. When the input fails, the store fails or
/// the future is dropped, the upload is aborted: nothing becomes visible.
pub async fn put_stream<S>(
    store: &dyn ObjectStore,
    location: &Path,
    stream: S,
) -> Result<u64, PutStreamError>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let mut first = Vec::new();
    let mut written = 0u64;
    while written <= PART_SIZE as u64 {
        match stream.next().await {
            Some(Ok(chunk)) => {
                written += chunk.len() as u64;
                first.push(chunk);
            }
            Some(Err(e)) => return Err(PutStreamError::Input(e)),
            None => {
                let payload: PutPayload = first.into_iter().collect();
                store
                    .put(location, payload)
                    .await
                    .map_err(PutStreamError::Store)?;
                return Ok(written);
            }
        }
    }
    let upload = store
        .put_multipart(location)
        .await
        .map_err(PutStreamError::Store)?;
    let mut upload = Upload(Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)));
    for chunk in first {
        upload.put(chunk).await?;
    }
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                written += chunk.len() as u64;
                upload.put(chunk).await?;
            }
            Err(e) => {
                upload.abort().await;
                return Err(PutStreamError::Input(e));
            }
        }
    }
    upload.finish().await?;
    Ok(written)
}

/// A multipart upload that is aborted unless it finishes (also when dropped mid-way).
struct Upload(Option<WriteMultipart>);

impl Upload {
    async fn put(&mut self, chunk: Bytes) -> Result<(), PutStreamError> {
        let Some(writer) = self.0.as_mut() else {
            return Ok(());
        };
        if let Err(e) = writer.wait_for_capacity(PART_UPLOADS).await {
            self.abort().await;
            return Err(PutStreamError::Store(e));
        }
        writer.put(chunk);
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "could not abort a multipart upload; its parts stay invisible until the store expires them");
            }
        }
    }

    async fn finish(mut self) -> Result<(), PutStreamError> {
        match self.0.take() {
            Some(writer) => writer
                .finish()
                .await
                .map(drop)
                .map_err(PutStreamError::Store),
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}
