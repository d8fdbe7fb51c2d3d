//! `atrest data`: an account's datasets on the accounts data plane
//! (`/accounts/{account}/datasets/{name}`), streamed both ways with progress bars, and
//! resumable downloads over HTTP Range.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{header, Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::lookup::items;
use super::Context;
use crate::api::{Api, Resource};
use crate::error::{Error, Result};
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Size", "/size"),
    col("Created", "/created"),
    col("SHA-256", "/sha256"),
];

/// `atrest data …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Upload a file as a dataset (streamed; encrypted by the service under the account's key).
    ///
    /// Example: atrest data upload translator ./glossary.tsv --name glossary
    Upload {
        /// Account name.
        account: String,
        /// File to upload.
        file: PathBuf,
        /// Dataset name. Default: the file's name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Download a dataset; --resume continues a partial file where it stopped.
    ///
    /// Example: atrest data download translator glossary --file ./glossary.tsv --resume
    Download {
        /// Account name.
        account: String,
        /// Dataset name.
        name: String,
        /// Where to write it. Default: ./NAME
        #[arg(long, short = 'f')]
        file: Option<PathBuf>,
        /// Continue a partial download: ask only for the bytes after the file's current size.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// List an account's datasets.
    ///
    /// Example: atrest data list translator
    List {
        /// Account name.
        account: String,
    },
    /// Delete a dataset.
    ///
    /// Example: atrest data delete translator glossary
    Delete {
        /// Account name.
        account: String,
        /// Dataset name.
        name: String,
    },
}

/// Runs `atrest data …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Upload {
            account,
            file,
            name,
        } => {
            let name = match name {
                Some(n) => n,
                None => file_name(&file)?,
            };
            let sent = upload(ctx, api, &account, &name, &file).await?;
            ctx.out.done(
                &json!({ "account": account, "name": name, "bytes": sent }),
                &format!(
                    "Uploaded {} to {account}/{name} ({sent} bytes).",
                    file.display()
                ),
            );
        }
        Command::Download {
            account,
            name,
            file,
            resume,
            force,
        } => {
            let file = file.unwrap_or_else(|| PathBuf::from(&name));
            let (from, total) = download(ctx, api, &account, &name, &file, resume, force).await?;
            let text = if from > 0 {
                format!(
                    "Downloaded {account}/{name} to {} ({total} bytes, resumed at {from}).",
                    file.display()
                )
            } else {
                format!(
                    "Downloaded {account}/{name} to {} ({total} bytes).",
                    file.display()
                )
            };
            ctx.out.done(
                &json!({ "account": account, "name": name, "file": file, "bytes": total, "resumedFrom": from }),
                &text,
            );
        }
        Command::List { account } => {
            let url = api.url(&format!("/accounts/{account}/datasets"));
            let list = items(api.get(Resource::Accounts, &url).await?);
            ctx.out.list(&list, COLUMNS);
        }
        Command::Delete { account, name } => {
            let url = dataset_url(api, &account, &name);
            api.call(Method::DELETE, Resource::Accounts, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "account": account, "name": name, "deleted": true }),
                &format!("Deleted {account}/{name}."),
            );
        }
    }
    Ok(())
}

fn dataset_url(api: &Api, account: &str, name: &str) -> String {
    api.url(&format!("/accounts/{account}/datasets/{name}"))
}

fn file_name(file: &Path) -> Result<String> {
    file.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::usage(format!("{}: give the dataset a --name", file.display())))
}

/// A progress bar on stderr when it is a terminal and results are not JSON; hidden otherwise.
fn progress(ctx: &Context, total: Option<u64>, position: u64) -> ProgressBar {
    if ctx.out.is_json() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let template = "{spinner} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(position);
    bar
}

async fn upload(ctx: &Context, api: &Api, account: &str, name: &str, path: &Path) -> Result<u64> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| Error::io("read", path, e))?
        .len();
    let bar = progress(ctx, Some(len), 0);
    let counter = bar.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |chunk| {
        if let Ok(bytes) = &chunk {
            counter.inc(bytes.len() as u64);
        }
        chunk
    });
    let request = api
        .request(
            Method::PUT,
            Resource::Accounts,
            &dataset_url(api, account, name),
        )
        .await?
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(stream));
    let result = api.send(request).await;
    bar.finish_and_clear();
    result?;
    Ok(len)
}

/// Downloads into `path`; returns (offset resumed from, final size).
async fn download(
    ctx: &Context,
    api: &Api,
    account: &str,
    name: &str,
    path: &Path,
    resume: bool,
    force: bool,
) -> Result<(u64, u64)> {
    let existing = tokio::fs::metadata(path).await.ok().map(|m| m.len());
    let offset = match existing {
        Some(len) if resume => len,
        Some(_) if !force => {
            return Err(
                Error::usage(format!("{} already exists", path.display())).with_hint(
                    "pass --resume to continue a partial download, or --force to overwrite it",
                ),
            )
        }
        _ => 0,
    };
    let mut request = api
        .request(
            Method::GET,
            Resource::Accounts,
            &dataset_url(api, account, name),
        )
        .await?;
    if offset > 0 {
        request = request.header(header::RANGE, format!("bytes={offset}-"));
    }
    let response = match request.send().await {
        Ok(r) if r.status() == StatusCode::RANGE_NOT_SATISFIABLE => {
            // Nothing after `offset`: the file is complete if the object is exactly that long.
            let total = content_range_total(r.headers());
            if total == Some(offset) {
                return Ok((offset, offset));
            }
            return Err(Error::failed(format!(
                "{} is longer than {account}/{name} ({} bytes): it is not a partial copy of it",
                path.display(),
                total.map_or("?".to_owned(), |t| t.to_string())
            ))
            .with_hint("download it again with --force"));
        }
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return Err(crate::api::from_response(r).await),
        Err(e) => {
            return Err(
                Error::failed(format!("cannot reach {}", api.profile().server)).with_source(e),
            )
        }
    };
    let partial = response.status() == StatusCode::PARTIAL_CONTENT;
    let start = if partial { offset } else { 0 };
    let total = if partial {
        content_range_total(response.headers())
    } else {
        response.content_length()
    };
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(partial)
        .truncate(!partial)
        .open(path)
        .await
        .map_err(|e| Error::io("create", path, e))?;
    let bar = progress(ctx, total, start);
    let mut written = start;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            bar.abandon();
            Error::failed(format!(
                "the download of {account}/{name} broke off at byte {written}"
            ))
            .with_source(e)
            .with_hint(format!(
                "continue it with `atrest data download {account} {name} --file {} --resume`",
                path.display()
            ))
        })?;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io("write", path, e))?;
        written += chunk.len() as u64;
        bar.set_position(written);
    }
    file.flush()
        .await
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_all()
        .await
        .map_err(|e| Error::io("write", path, e))?;
    bar.finish_and_clear();
    Ok((start, written))
}

/// The total size from `Content-Range: bytes a-b/TOTAL` (or `bytes */TOTAL`).
fn content_range_total(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .rsplit_once('/')?
        .1
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_totals() {
        let mut h = header::HeaderMap::new();
        assert_eq!(content_range_total(&h), None);
        h.insert(header::CONTENT_RANGE, "bytes 10-99/100".parse().unwrap());
        assert_eq!(content_range_total(&h), Some(100));
        h.insert(header::CONTENT_RANGE, "bytes */42".parse().unwrap());
        assert_eq!(content_range_total(&h), Some(42));
    }
}
