//! Models and deployments. A Translator model is a glossary built from TSV datasets
//! (`source<TAB>target` per line), stored encrypted like any object; a deployment loads it
//! into memory (wiped when undeployed), and `translate` applies it.

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::objects::ObjectRow;
use super::{Accounts, DataCaller};
use crate::error::Error;
use crate::model::valid_child_name;

const KIND: &str = "model";
const MAX_DATASET: u64 = 16 * 1024 * 1024;

/// A model as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Name.
    pub name: String,
    /// Glossary entries.
    pub entries: u64,
    /// Unix seconds.
    pub created: i64,
}

/// A deployment as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentInfo {
    /// Name.
    pub name: String,
    /// `Deployed` or `Undeployed` (after key loss; never redeployed automatically).
    pub status: String,
    /// Unix seconds.
    pub created: i64,
}

/// A glossary in memory; its strings are wiped when the last holder drops it.
pub(super) struct LoadedModel {
    entries: Vec<(Zeroizing<String>, Zeroizing<String>)>,
}

impl LoadedModel {
    fn parse(tsv: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(tsv)
            .map_err(|_| Error::BadRequest("glossary datasets must be UTF-8 TSV".into()))?;
        let mut entries: Vec<(Zeroizing<String>, Zeroizing<String>)> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .map(|(s, t)| {
                (
                    Zeroizing::new(s.trim().to_owned()),
                    Zeroizing::new(t.trim().to_owned()),
                )
            })
            .filter(|(s, _)| !s.is_empty())
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        Ok(Self { entries })
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (source, target) in &self.entries {
            out = out.replace(source.as_str(), target.as_str());
        }
        out
    }
}

impl Accounts {
    /// Builds a glossary model from TSV datasets.
    pub async fn create_model(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
        datasets: &[String],
    ) -> Result<ModelInfo, Error> {
        super::data::check_name(name)?;
        let (account, ak) = self.open_data(account, caller).await?;
        if account.kind != "TextTranslation" && account.kind != "CognitiveServices" {
            return Err(Error::BadRequest(format!(
                "models are built by TextTranslation accounts; '{}' is {}",
                account.name, account.kind
            )));
        }
        if datasets.is_empty() {
            return Err(Error::BadRequest(
                "name at least one dataset to build the model from".into(),
            ));
        }
        let mut tsv = Zeroizing::new(Vec::new());
        for dataset in datasets {
            tsv.extend_from_slice(
                &self
                    .dataset_bytes(&account, &ak, dataset, MAX_DATASET)
                    .await?,
            );
            tsv.push(b'\n');
        }
        let entries = LoadedModel::parse(&tsv)?.entries.len() as u64;
        let id = uuid::Uuid::new_v4().to_string();
        let body = futures_util::stream::iter([Ok(bytes::Bytes::copy_from_slice(&tsv))]);
        let (blob_key, size, stored_size, sha256) =
            self.write_object(&account, &ak, &id, body).await?;
        let meta = serde_json::to_vec(&serde_json::json!({"kind": "glossary", "entries": entries}))
            .map_err(Error::internal)?;
        let row = ObjectRow {
            id,
            name: name.to_owned(),
            blob_key,
            size,
            stored_size,
            sha256,
            meta: Some(meta),
            created: self.now(),
        };
        self.commit_object(&account, &ak, KIND, &row).await?;
        Ok(ModelInfo {
            name: name.to_owned(),
            entries,
            created: row.created,
        })
    }

    /// Lists models.
    pub async fn list_models(
        &self,
        account: &str,
        caller: &DataCaller,
    ) -> Result<Vec<ModelInfo>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let rows = self.list_objects(&account, &ak, KIND).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let meta: serde_json::Value = r
                    .meta
                    .as_deref()
                    .and_then(|m| serde_json::from_slice(m).ok())
                    .unwrap_or_default();
                ModelInfo {
                    name: r.name.clone(),
                    entries: meta["entries"].as_u64().unwrap_or(0),
                    created: r.created,
                }
            })
            .collect())
    }

    /// Deletes a model.
    pub async fn delete_model(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
    ) -> Result<(), Error> {
        self.delete_named(account, caller, KIND, "model", name)
            .await
    }

    /// Deploys a model: loads it into memory.
    pub async fn deploy(
        &self,
        account: &str,
        caller: &DataCaller,
        deployment: &str,
        model: &str,
    ) -> Result<DeploymentInfo, Error> {
        if !valid_child_name(deployment) {
            return Err(Error::BadRequest(format!("deployment name '{deployment}' is invalid: use 1-64 letters, digits, '-', '_' or '.'")));
        }
        let (account, ak) = self.open_data(account, caller).await?;
        let row = self
            .find_object(&account, &ak, KIND, model)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "model",
                name: model.to_owned(),
            })?;
        let mut download = self.read_object(&account, &ak, &row, None).await?;
        let mut tsv = Zeroizing::new(Vec::new());
        while let Some(chunk) = futures_util::StreamExt::next(&mut download.body).await {
            tsv.extend_from_slice(&chunk.map_err(Error::internal)?);
        }
        let loaded = Arc::new(LoadedModel::parse(&tsv)?);
        let now = self.now();
        self.store()
            .deploy_model(&account.id, deployment, &row.id, now)
            .await?;
        self.deployed()
            .entry(account.id.clone())
            .or_default()
            .insert(deployment.to_owned(), loaded);
        Ok(DeploymentInfo {
            name: deployment.to_owned(),
            status: "Deployed".into(),
            created: now,
        })
    }

    /// Lists deployments with their status.
    pub async fn list_deployments(
        &self,
        account: &str,
        caller: &DataCaller,
    ) -> Result<Vec<DeploymentInfo>, Error> {
        let account = self.authorize_data(account, caller).await?;
        let rows = self.store().deployments(&account.id).await?;
        Ok(rows
            .into_iter()
            .map(|row| DeploymentInfo {
                name: row.name,
                status: row.status,
                created: row.created,
            })
            .collect())
    }

    /// Deletes a deployment (wiping the model from memory).
    pub async fn delete_deployment(
        &self,
        account: &str,
        caller: &DataCaller,
        deployment: &str,
    ) -> Result<(), Error> {
        let account = self.authorize_data(account, caller).await?;
        if let Some(map) = self.deployed().get_mut(&account.id) {
            map.remove(deployment);
        }
        let existed = self
            .store()
            .delete_deployment(&account.id, deployment)
            .await?;
        if !existed {
            return Err(Error::NotFound {
                what: "deployment",
                name: deployment.to_owned(),
            });
        }
        Ok(())
    }

    /// Translates texts with a deployed glossary.
    pub async fn translate(
        &self,
        account: &str,
        caller: &DataCaller,
        deployment: &str,
        texts: &[String],
    ) -> Result<Vec<String>, Error> {
        let (account, _ak) = self.open_data(account, caller).await?;
        let model = self
            .deployed()
            .get(&account.id)
            .and_then(|m| m.get(deployment).cloned());
        let Some(model) = model else {
            return Err(Error::BadRequest(format!(
                "deployment '{deployment}' is not deployed (deployments are undeployed when the account's key becomes inaccessible and are not redeployed automatically): PUT it again"
            )));
        };
        Ok(texts.iter().map(|t| model.apply(t)).collect())
    }

    /// Drops every loaded model of an account (wiped from memory) and marks them undeployed.
    pub(super) async fn undeploy_all(&self, account_id: &str) {
        let removed = self.deployed().remove(account_id);
        drop(removed);
        let _ = self.store().undeploy_all(account_id).await;
    }

    fn deployed(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Arc<LoadedModel>>>> {
        self.inner
            .deployed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glossary_prefers_longer_terms() {
        let m = LoadedModel::parse(b"cat\tchat\ncat food\tcroquettes\n\nbad line\n").unwrap();
        assert_eq!(m.apply("my cat likes cat food"), "my chat likes croquettes");
    }
}
