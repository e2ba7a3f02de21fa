//! Reading request bodies within the configured limit.

use crate::error::AppError;
use axum::body::{Body, Bytes};

/// Reads the whole body, or `payload_too_large` once it passes `limit` bytes.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            AppError::PayloadTooLarge(limit)
        } else {
            AppError::BadRequest("the request body could not be read".into())
        }
    })
}
