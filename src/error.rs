//! The one error type. Every failure a client can see is an [`AppError`]; it becomes a
//! GraphQL error with `extensions.code` (see `graphql::errors`) and a REST
//! `application/problem+json` body (see `http::problem`), using the same stable codes.

use http::StatusCode;
use serde::Serialize;

/// One problem with one input field, located by a JSON pointer (RFC 6901).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// Where the problem is, e.g. `/name` or `/tools/0/name`.
    pub pointer: String,
    /// What is wrong there.
    pub detail: String,
}

impl FieldError {
    /// A field error at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// Every error a client can be shown.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request itself is malformed: bad JSON, an unknown parameter, a garbled cursor.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule; each broken rule has a pointer.
    #[error("{message}")]
    Validation {
        message: String,
        errors: Vec<FieldError>,
    },
    /// No credentials, or credentials that are unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The principal may not do this at all.
    #[error("{0}")]
    Forbidden(String),
    /// The credentials lack a scope the operation needs.
    #[error("this operation needs the `{0}` scope")]
    InsufficientScope(String),
    /// The resource does not exist, or belongs to another organisation.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's current state.
    #[error("{0}")]
    Conflict(String),
    /// The organisation's plan does not allow this.
    #[error("{0}")]
    PlanLimitExceeded(String),
    /// Too many requests; retry after the given number of seconds.
    #[error("rate limit exceeded; retry in {0} s")]
    RateLimited(u64),
    /// The caller already holds as many open streams (SSE, WebSocket operations) as its
    /// key or organisation may.
    #[error("{0}")]
    TooManyStreams(String),
    /// The server cannot serve this now: it is shutting down, or its database is
    /// unavailable for longer than writes are retried. Retry shortly.
    #[error("{0}")]
    Unavailable(String),
    /// The request body is larger than the configured limit.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A GraphQL document over one of the cost limits (`config.graphql`), refused
    /// before it is validated or executed.
    #[error("query too complex: {0}")]
    QueryTooComplex(String),
    /// A GraphQL response (or subscription event) larger than the configured cap.
    #[error(
        "the response would be larger than {0} bytes; select fewer fields or ask for smaller pages"
    )]
    ResponseTooLarge(usize),
    /// The route exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request's Content-Type is not one the route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Anything unexpected: logged in full, shown as an opaque `internal`.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Shorthand for results in this crate.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable machine code clients match on (lower case; GraphQL shows it upper case).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Validation { .. } => "validation_failed",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PlanLimitExceeded(_) => "plan_limit_exceeded",
            Self::RateLimited(_) => "rate_limited",
            Self::TooManyStreams(_) => "too_many_streams",
            Self::Unavailable(_) => "unavailable",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::QueryTooComplex(_) => "query_too_complex",
            Self::ResponseTooLarge(_) => "response_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        status_for_code(self.code())
    }

    /// A validation error with one field error.
    pub fn invalid(pointer: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::Validation {
            message: format!("{pointer}: {detail}"),
            errors: vec![FieldError::new(pointer, detail)],
        }
    }

    /// A validation error from several field errors (none means no error).
    pub fn from_field_errors(errors: Vec<FieldError>) -> AppResult<()> {
        if errors.is_empty() {
            return Ok(());
        }
        let message = errors
            .iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Self::Validation { message, errors })
    }

    /// The field errors of a validation error (empty otherwise).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation { errors, .. } => errors,
            _ => &[],
        }
    }

    /// What a client is told: internal details never leave the server.
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

/// The HTTP status for a machine code; also used to map GraphQL `extensions.code`
/// back to a status in the REST layer, so the table exists once.
pub fn status_for_code(code: &str) -> StatusCode {
    match code.to_ascii_lowercase().as_str() {
        "bad_request"
        | "graphql_parse_failed"
        | "graphql_validation_failed"
        | "bad_user_input"
        | "query_too_complex"
        | "response_too_large" => StatusCode::BAD_REQUEST,
        "validation_failed" | "idempotency_key_reused" => StatusCode::UNPROCESSABLE_ENTITY,
        "unauthenticated" => StatusCode::UNAUTHORIZED,
        "forbidden" | "insufficient_scope" | "plan_limit_exceeded" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "conflict" | "idempotency_key_in_use" => StatusCode::CONFLICT,
        "rate_limited" | "too_many_streams" => StatusCode::TOO_MANY_REQUESTS,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unavailable" | "storage_error" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<sea_orm::DbErr> for AppError {
    /// Constraint violations are the client's conflict; everything else is internal.
    fn from(err: sea_orm::DbErr) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a resource with these values already exists".into())
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::Conflict("a referenced resource does not exist or is still in use".into())
            }
            _ => Self::Internal(anyhow::Error::new(err).context("database error")),
        }
    }
}
