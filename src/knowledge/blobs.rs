//! The originals of uploaded documents, kept so a base can be indexed again without the
//! client uploading again: one per organisation and SHA-256 (uploading the same bytes
//! twice keeps one copy), in the database by default or, with `knowledge.blob_dir`, as
//! files in that directory (`<dir>/<org>/<sha256>`, written to a temporary name and
//! renamed, so a reader never sees half a file).

use crate::error::{AppError, AppResult};
use entity::knowledge_blobs::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where originals are kept.
#[derive(Debug, Clone)]
pub enum Store {
    /// In `knowledge_blobs.data`.
    Database,
    /// As files under this directory.
    Dir(PathBuf),
}

impl Store {
    /// From `knowledge.blob_dir` (empty: the database).
    pub fn from_config(dir: &str) -> Self {
        match dir.trim() {
            "" => Self::Database,
            d => Self::Dir(PathBuf::from(d)),
        }
    }

    fn path(dir: &std::path::Path, org: &str, sha: &str) -> PathBuf {
        dir.join(org).join(sha)
    }

    /// Keeps `bytes` (whose hash is `sha`) for `org`; keeping them again is a no-op.
    pub async fn put(
        &self,
        db: &impl ConnectionTrait,
        org: &str,
        sha: &str,
        bytes: &[u8],
    ) -> AppResult<()> {
        let data = match self {
            Self::Database => Some(bytes.to_vec()),
            Self::Dir(dir) => {
                let path = Self::path(dir, org, sha);
                if tokio::fs::metadata(&path).await.is_err() {
                    write_file(&path, bytes).await?;
                }
                None
            }
        };
        let row = ActiveModel {
            org_id: Set(org.to_owned()),
            sha256: Set(sha.to_owned()),
            data: Set(data),
            size: Set(bytes.len() as i64),
            created_at: Set(crate::clock::now()),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::OrgId, Column::Sha256])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    /// The original `sha` of `org`.
    pub async fn get(&self, db: &impl ConnectionTrait, org: &str, sha: &str) -> AppResult<Vec<u8>> {
        let row = Entity::find_by_id((org.to_owned(), sha.to_owned()))
            .one(db)
            .await?;
        if let Some(data) = row.as_ref().and_then(|r| r.data.clone()) {
            return Ok(data);
        }
        let Self::Dir(dir) = self else {
            return Err(AppError::internal(anyhow::anyhow!(
                "the original {sha} is missing"
            )));
        };
        tokio::fs::read(Self::path(dir, org, sha))
            .await
            .map_err(|e| {
                AppError::internal(anyhow::anyhow!("the original {sha} cannot be read: {e}"))
            })
    }
}

async fn write_file(path: &std::path::Path, bytes: &[u8]) -> AppResult<()> {
    let io =
        |e: std::io::Error| AppError::internal(anyhow::anyhow!("cannot keep an original: {e}"));
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", ulid::Ulid::new()));
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)
}
