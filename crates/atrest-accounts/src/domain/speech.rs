//! Speech endpoints and their content logs: a recognition request's input and result are
//! stored (encrypted under the account key) only while the endpoint's logging is on; with
//! logging off nothing is stored.

use bytes::Bytes;

use super::objects::{Download, ObjectRow};
use super::{Accounts, DataCaller};
use crate::error::Error;
use crate::model::valid_child_name;

const KIND: &str = "log";

/// A stored endpoint log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    /// Log id.
    pub id: String,
    /// Bytes.
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
}

impl Accounts {
    /// Creates or updates a Speech endpoint; returns whether logging is on.
    pub async fn put_endpoint(
        &self,
        account: &str,
        caller: &DataCaller,
        endpoint: &str,
        logging: bool,
    ) -> Result<bool, Error> {
        if !valid_child_name(endpoint) {
            return Err(Error::BadRequest(format!(
                "endpoint name '{endpoint}' is invalid: use 1-64 letters, digits, '-', '_' or '.'"
            )));
        }
        let account = self.authorize_data(account, caller).await?;
        if account.kind != "SpeechServices" && account.kind != "CognitiveServices" {
            return Err(Error::BadRequest(format!(
                "Speech endpoints belong to SpeechServices accounts; '{}' is {}",
                account.name, account.kind
            )));
        }
        self.store()
            .put_speech_endpoint(&account.id, endpoint, logging, self.now())
            .await?;
        Ok(logging)
    }

    /// Recognizes (here: echoes) a request; stores it as a log only when logging is on.
    pub async fn recognize(
        &self,
        account: &str,
        caller: &DataCaller,
        endpoint: &str,
        input: Bytes,
    ) -> Result<String, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let logging = self
            .store()
            .speech_endpoint_logging(&account.id, endpoint)
            .await?;
        let Some(logging) = logging else {
            return Err(Error::NotFound {
                what: "speech endpoint",
                name: endpoint.to_owned(),
            });
        };
        let text = String::from_utf8_lossy(&input).trim().to_owned();
        if logging {
            let id = uuid::Uuid::new_v4().to_string();
            let record = serde_json::to_vec(&serde_json::json!({"input": text, "result": text}))
                .map_err(Error::internal)?;
            let body = futures_util::stream::iter([Ok(Bytes::from(record))]);
            let (blob_key, size, stored_size, sha256) =
                self.write_object(&account, &ak, &id, body).await?;
            let row = ObjectRow {
                id: id.clone(),
                name: format!("{endpoint}/{id}"),
                blob_key,
                size,
                stored_size,
                sha256,
                meta: None,
                created: self.now(),
            };
            self.commit_object(&account, &ak, KIND, &row).await?;
        }
        Ok(text)
    }

    /// Lists an endpoint's logs.
    pub async fn list_logs(
        &self,
        account: &str,
        caller: &DataCaller,
        endpoint: &str,
    ) -> Result<Vec<LogInfo>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let prefix = format!("{endpoint}/");
        Ok(self
            .list_objects(&account, &ak, KIND)
            .await?
            .into_iter()
            .filter(|r| r.name.starts_with(&prefix))
            .map(|r| LogInfo {
                id: r.id,
                size: r.size,
                created: r.created,
            })
            .collect())
    }

    /// Reads one log.
    pub async fn get_log(
        &self,
        account: &str,
        caller: &DataCaller,
        endpoint: &str,
        id: &str,
    ) -> Result<Download, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let row = self
            .find_object(&account, &ak, KIND, &format!("{endpoint}/{id}"))
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "log",
                name: id.to_owned(),
            })?;
        self.read_object(&account, &ak, &row, None).await
    }
}
