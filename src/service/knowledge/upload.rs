//! Uploads into a knowledge base: each document becomes a `pending` indexing job; a
//! name the base already holds is replaced (its old chunks stay searchable until the new
//! ones take their place in one transaction). Every upload is bounded: file count, file
//! size, name and metadata sizes, and a type the server can read (415 otherwise).

use super::documents::{announce, requeue};
use super::{find as find_base, Services};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, FieldError};
use crate::ids;
use crate::knowledge::blobs;
use crate::knowledge::extract::format_of;
use base64::Engine;
use entity::knowledge_bases;
use entity::knowledge_documents::{self, Column, DocumentStatus, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{json, Value};

/// Longest document name.
pub const MAX_NAME: usize = 255;
/// Largest `metadata`, serialised.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// One document of an upload.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// Its name (unique in the base; the extension tells the type when no
    /// `content_type` is given).
    pub name: String,
    /// Text content.
    pub content: Option<String>,
    /// Binary content, standard base64 (multipart files arrive this way).
    pub content_base64: Option<String>,
    /// The MIME type (otherwise from the name's extension).
    pub content_type: Option<String>,
    /// The client's own data, kept with the document.
    pub metadata: Option<Value>,
}

/// A document's bytes, type and checks, before anything is written.
struct Checked {
    upload: Upload,
    bytes: Vec<u8>,
    format: crate::knowledge::extract::Format,
    sha: String,
}

/// Checks an upload: 413 over the count or a file's size, 415 for a type the server
/// cannot read, 422 for the rest (each with its pointer).
fn check(s: &Services, uploads: Vec<Upload>) -> AppResult<Vec<Checked>> {
    let limits = &s.config.knowledge;
    if uploads.is_empty() {
        return Err(AppError::invalid(
            "/documents",
            "at least one document is required",
        ));
    }
    if uploads.len() > limits.max_files {
        return Err(AppError::TooLarge(format!(
            "an upload holds at most {} documents; this one has {}",
            limits.max_files,
            uploads.len()
        )));
    }
    let mut errors = Vec::new();
    let mut out: Vec<Checked> = Vec::with_capacity(uploads.len());
    for (i, mut u) in uploads.into_iter().enumerate() {
        let at = |f: &str| format!("/documents/{i}/{f}");
        let n = u.name.chars().count();
        if u.name.trim().is_empty() || n > MAX_NAME || u.name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                at("name"),
                format!("must be 1 to {MAX_NAME} characters without control characters"),
            ));
        } else if out.iter().any(|c| c.upload.name == u.name) {
            errors.push(FieldError::new(at("name"), "appears twice in this upload"));
        }
        if let Some(m) = &u.metadata {
            if !m.is_object() {
                errors.push(FieldError::new(at("metadata"), "must be a JSON object"));
            } else if m.to_string().len() > MAX_METADATA_BYTES {
                errors.push(FieldError::new(
                    at("metadata"),
                    format!("must be at most {MAX_METADATA_BYTES} bytes"),
                ));
            }
        }
        let bytes = match (u.content.take(), u.content_base64.take()) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(b64)) => match base64::engine::general_purpose::STANDARD.decode(b64.trim())
            {
                Ok(b) => b,
                Err(e) => {
                    errors.push(FieldError::new(
                        at("content_base64"),
                        format!("is not base64: {e}"),
                    ));
                    continue;
                }
            },
            _ => {
                errors.push(FieldError::new(
                    at("content"),
                    "give exactly one of content (text) and content_base64",
                ));
                continue;
            }
        };
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(AppError::TooLarge(format!(
                "`{}` is {} bytes; a document may be at most {} bytes",
                u.name,
                bytes.len(),
                limits.max_file_bytes
            )));
        }
        let Some(format) = format_of(&u.name, u.content_type.as_deref()) else {
            return Err(AppError::UnsupportedMediaType(format!(
                "`{}`{}: not a type a knowledge base reads; send text, Markdown, HTML, CSV, JSON or PDF",
                u.name,
                u.content_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
            )));
        };
        let sha = blobs::sha256(&bytes);
        out.push(Checked {
            upload: u,
            bytes,
            format,
            sha,
        });
    }
    AppError::from_field_errors(errors)?;
    Ok(out)
}

/// Uploads documents into base `knowledge_id`: each `pending`, or left as it is when
/// the same bytes are already indexed under the base's current settings.
pub async fn upload(
    s: &Services,
    p: &Principal,
    knowledge_id: &str,
    uploads: Vec<Upload>,
) -> AppResult<Vec<Model>> {
    p.require(Scope::KnowledgeWrite)?;
    let checked = check(s, uploads)?;
    let now = crate::clock::now();
    let txn = s.db.begin().await?;
    // Write first (SQLite), and only into a live base of the caller's organisation.
    let touched = knowledge_bases::Entity::update_many()
        .col_expr(knowledge_bases::Column::UpdatedAt, Expr::value(now))
        .filter(knowledge_bases::Column::Id.eq(knowledge_id))
        .filter(knowledge_bases::Column::OrgId.eq(&p.org_id))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if touched.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!(
            "knowledge base {knowledge_id} not found"
        )));
    }
    let base = find_base(&txn, p, knowledge_id).await?;
    let mut out = Vec::with_capacity(checked.len());
    for c in checked {
        s.knowledge
            .blobs
            .put(&txn, &p.org_id, &c.sha, &c.bytes)
            .await?;
        let existing = Entity::find()
            .filter(Column::KnowledgeId.eq(knowledge_id))
            .filter(Column::Name.eq(&c.upload.name))
            .one(&txn)
            .await?;
        let content_type = c
            .upload
            .content_type
            .clone()
            .unwrap_or_else(|| c.format.mime().to_owned());
        let metadata = c.upload.metadata.clone().unwrap_or_else(|| json!({}));
        let row = match existing {
            Some(d)
                if d.sha256 == c.sha
                    && d.status == DocumentStatus::Indexed
                    && d.settings_version == base.settings_version =>
            {
                let mut a: knowledge_documents::ActiveModel = d.into();
                a.metadata = Set(metadata);
                a.updated_at = Set(now);
                a.update(&txn).await?
            }
            Some(d) => {
                let mut a: knowledge_documents::ActiveModel = d.into();
                a.format = Set(c.format.as_str().to_owned());
                a.content_type = Set(content_type);
                a.metadata = Set(metadata);
                a.sha256 = Set(c.sha);
                a.size_bytes = Set(c.bytes.len() as i64);
                requeue(&mut a, base.settings_version, now);
                a.update(&txn).await?
            }
            None => {
                let mut a = knowledge_documents::ActiveModel {
                    id: Set(ids::new_id(ids::KNOWLEDGE_DOCUMENT)),
                    org_id: Set(p.org_id.clone()),
                    knowledge_id: Set(knowledge_id.to_owned()),
                    name: Set(c.upload.name),
                    format: Set(c.format.as_str().to_owned()),
                    content_type: Set(content_type),
                    metadata: Set(metadata),
                    sha256: Set(c.sha),
                    size_bytes: Set(c.bytes.len() as i64),
                    chunk_count: Set(0),
                    token_count: Set(0),
                    created_at: Set(now),
                    ..Default::default()
                };
                requeue(&mut a, base.settings_version, now);
                a.insert(&txn).await?
            }
        };
        out.push(row);
    }
    txn.commit().await?;
    announce(s, &out);
    Ok(out)
}
