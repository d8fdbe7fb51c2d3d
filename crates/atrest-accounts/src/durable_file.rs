//! Streams bytes into a file that appears, complete and durable, only when the stream ends.
//!
//! The bytes go to a staging file beside the target; at the end the file is synced, renamed
//! into place and the directory synced, so a crash at any moment leaves either no file or the
//! whole one.
//!
//! Flush-behind: Linux starts writing dirty pages back only once they pass
//! `dirty_background_ratio` of memory (gigabytes on a large machine), so without help the disk
//! would sit idle while an upload streams in, and the final sync would then write the whole
//! object. Here a second thread syncs the file every [`FLUSH_EVERY`] bytes while the writer
//! goes on, so the disk works during the transfer and the final sync only has the tail.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc as channel;

/// How many bytes the writer lets the page cache hold before asking for a sync.
const FLUSH_EVERY: u64 = 32 * 1024 * 1024;

/// Chunks queued between the stream and the writer thread (each up to a segment, 64 KiB).
const QUEUED_CHUNKS: usize = 256;

enum Message {
    Data(Bytes),
    /// The stream ended normally: publish the file.
    Finish,
}

/// Why a write did not complete.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The input stream failed; nothing was published.
    Input(io::Error),
    /// Writing, syncing or publishing failed; nothing was published.
    Output(io::Error),
}

/// Writes `stream` to `path` (in an existing directory); returns the bytes written once the
/// file is durable under its name. On any failure nothing is left at `path` or in staging.
pub(crate) async fn write<S>(path: &Path, stream: S) -> Result<u64, WriteError>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let staging = staging_path(path);
    let file = File::create(&staging).map_err(WriteError::Output)?;
    let (tx, rx) = channel::channel(QUEUED_CHUNKS);
    let target = path.to_owned();
    let writer = tokio::task::spawn_blocking(move || {
        let result = write_and_publish(file, &staging, &target, rx);
        if result.is_err() {
            let _ = std::fs::remove_file(&staging);
        }
        result
    });
    let mut stream = std::pin::pin!(stream);
    let mut input_error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                if tx.send(Message::Data(bytes)).await.is_err() {
                    break; // The writer failed; its error is below.
                }
            }
            Err(e) => {
                input_error = Some(e);
                break;
            }
        }
    }
    if input_error.is_none() {
        let _ = tx.send(Message::Finish).await;
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| WriteError::Output(io::Error::other(e)))?;
    match (input_error, written) {
        (Some(e), _) => Err(WriteError::Input(e)),
        (None, result) => result.map_err(WriteError::Output),
    }
}

/// Deletes the staging files in `dir` (left by a crash mid-upload; never visible as objects).
/// Call only while nothing writes to `dir`.
pub(crate) fn remove_staging_files(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().contains(STAGING_MARK) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// What makes a file name a staging file's.
const STAGING_MARK: &str = "#staging-";

/// `dir/name#staging-{uuid}`: beside the target (so the rename is atomic) and, with its `#`,
/// never a valid object name.
fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!("{STAGING_MARK}{}", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

fn write_and_publish(
    mut file: File,
    staging: &Path,
    target: &Path,
    mut rx: channel::Receiver<Message>,
) -> io::Result<u64> {
    let flusher = file.try_clone()?;
    let (flush, flush_requests) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let syncer = scope.spawn(move || -> io::Result<()> {
            while flush_requests.recv().is_ok() {
                while flush_requests.try_recv().is_ok() {} // Coalesce: one sync covers all.
                flusher.sync_data()?;
            }
            Ok(())
        });
        let mut written = 0u64;
        let mut finished = false;
        while let Some(message) = rx.blocking_recv() {
            match message {
                Message::Data(bytes) => {
                    file.write_all(&bytes)?;
                    let before = written;
                    written += bytes.len() as u64;
                    if before / FLUSH_EVERY != written / FLUSH_EVERY {
                        let _ = flush.send(()); // A failed syncer reports below.
                    }
                }
                Message::Finish => {
                    finished = true;
                    break;
                }
            }
        }
        drop(flush);
        syncer
            .join()
            .map_err(|_| io::Error::other("the flush thread panicked"))??;
        if !finished {
            return Err(io::Error::other("the upload was abandoned"));
        }
        file.sync_all()?;
        std::fs::rename(staging, target)?;
        if let Some(dir) = target.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(written)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8], size: usize) -> Vec<io::Result<Bytes>> {
        data.chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn writes_the_whole_stream_across_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obj");
        let data: Vec<u8> = (0..(FLUSH_EVERY as usize * 2 + 12_345))
            .map(|i| (i % 251) as u8)
            .collect();
        let n = write(&path, futures_util::stream::iter(chunks(&data, 65_536)))
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        assert_eq!(names(dir.path()), ["obj"], "no staging file is left");
    }

    #[tokio::test]
    async fn a_failing_stream_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obj");
        let mut input = chunks(&[1u8; 200_000], 65_536);
        input.push(Err(io::Error::other("client went away")));
        let err = write(&path, futures_util::stream::iter(input))
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::Input(e) if e.to_string() == "client went away"));
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    #[test]
    fn leftover_staging_files_are_removed_and_objects_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("obj"), b"kept").unwrap();
        std::fs::write(staging_path(&dir.path().join("obj2")), b"half").unwrap();
        remove_staging_files(dir.path()).unwrap();
        assert_eq!(names(dir.path()), ["obj"]);
    }

    #[tokio::test]
    async fn an_unwritable_target_is_an_output_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir/obj");
        let err = write(&path, futures_util::stream::iter(chunks(b"x", 1)))
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::Output(_)));
    }
}
