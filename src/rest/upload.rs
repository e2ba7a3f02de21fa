//! The body of an upload route: `multipart/form-data` (each file part becomes one of
//! `documents`, its bytes as `content_base64`, its name and type from the part) or the
//! JSON `{"documents": [...]}`. Bounded as it is read: the whole body by
//! `knowledge.max_request_bytes`, each file by `knowledge.max_file_bytes`, the number
//! of files by `knowledge.max_files` (413 past any of them, before the rest is read).

use crate::config::KnowledgeConfig;
use crate::error::AppError;
use axum::extract::Request;
use base64::Engine;
use http::header;
use serde_json::{json, Value};

/// The upload as the route's `input` variable.
pub(super) async fn read(cfg: &KnowledgeConfig, req: Request) -> Result<Value, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limit = usize::try_from(cfg.max_request_bytes).unwrap_or(usize::MAX);
    let boundary = match multer::parse_boundary(&content_type) {
        Ok(b) => b,
        Err(_) if content_type.to_ascii_lowercase().starts_with("multipart/") => {
            return Err(AppError::BadRequest(
                "the multipart body has no boundary in its Content-Type".into(),
            ))
        }
        Err(_) => return super::exec::read_json_body(limit, req, false).await,
    };
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(cfg.max_request_bytes)
            .per_field(cfg.max_file_bytes),
    );
    let stream = req.into_body().into_data_stream();
    let mut parts = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut documents = Vec::new();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(refusal(cfg, e, None)),
        };
        let Some(name) = field.file_name().map(str::to_owned) else {
            return Err(AppError::BadRequest(format!(
                "part `{}` is not a file; send each document as a file part (with a filename)",
                field.name().unwrap_or("")
            )));
        };
        if documents.len() == cfg.max_files {
            return Err(AppError::TooLarge(format!(
                "an upload holds at most {} documents",
                cfg.max_files
            )));
        }
        let declared = field
            .content_type()
            .map(|m| m.essence_str().to_owned())
            .filter(|m| m != "application/octet-stream");
        let bytes = field
            .bytes()
            .await
            .map_err(|e| refusal(cfg, e, Some(&name)))?;
        documents.push(json!({
            "name": name,
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
            "content_type": declared,
        }));
    }
    Ok(json!({ "documents": documents }))
}

/// A multipart error as the client's problem: 413 past a limit, 400 otherwise.
fn refusal(cfg: &KnowledgeConfig, e: multer::Error, file: Option<&str>) -> AppError {
    match e {
        multer::Error::FieldSizeExceeded { .. } => AppError::TooLarge(format!(
            "`{}` is larger than {} bytes, the most a document may be",
            file.unwrap_or("a file"),
            cfg.max_file_bytes
        )),
        multer::Error::StreamSizeExceeded { .. } => AppError::TooLarge(format!(
            "the upload is larger than {} bytes",
            cfg.max_request_bytes
        )),
        other => AppError::BadRequest(format!("the multipart body could not be read: {other}")),
    }
}
