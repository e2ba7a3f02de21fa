//! The one error type. Every failure a client can see is an [`AppError`]; it becomes a
//! GraphQL error with `extensions.code` (see `graphql::errors`) and a REST
//! `application/problem+json` body (see `http::problem`), using the same stable codes.

mod code;

pub use code::{status_for_code, Code};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

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

/// A limit of the organisation's plan that a request would pass. Clients read it from
/// the error's members (`limit`, `tier`, `resource`) rather than from its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLimit {
    /// What is counted, e.g. `agents`.
    pub resource: &'static str,
    /// The organisation's tier, e.g. `free`.
    pub tier: &'static str,
    /// How many the tier allows.
    pub limit: u64,
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
    /// The gate was already approved, rejected or expired.
    #[error("{0}")]
    GateNotPending(String),
    /// A knowledge base an agent still lists (delete or change the agent first).
    #[error("{0}")]
    KnowledgeInUse(String),
    /// The organisation's plan does not allow this; the limit is in the error's
    /// [`members`](AppError::members).
    #[error("the {} plan allows {} {}; delete one or upgrade", .0.tier, .0.limit, .0.resource)]
    PlanLimitExceeded(PlanLimit),
    /// An `Idempotency-Key` whose first request is still in flight.
    #[error("{0}")]
    IdempotencyKeyInUse(String),
    /// An `Idempotency-Key` sent again with a different request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
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
    /// Part of a request is over a size or count limit (a file of an upload, say).
    #[error("{0}")]
    TooLarge(String),
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
    /// A batch with more operations than the given most.
    #[error("a batch holds at most {0} operations; split it")]
    BatchTooLarge(usize),
    /// Anything unexpected: logged in full, shown as an opaque `internal`.
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// Shorthand for results in this crate.
pub type AppResult<T> = Result<T, AppError>;

/// Where an internal error was made; the outermost context of its chain, so the log
/// line of an opaque `internal` says which line of the server to read.
#[derive(Debug)]
struct Origin(&'static std::panic::Location<'static>);

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error at {}:{}", self.0.file(), self.0.line())
    }
}

impl AppError {
    /// An internal error, recording the caller's source location for the log.
    #[track_caller]
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into().context(Origin(std::panic::Location::caller())))
    }

    /// The stable machine code clients match on.
    pub fn code(&self) -> Code {
        match self {
            Self::BadRequest(_) => Code::BadRequest,
            Self::Validation { .. } => Code::ValidationFailed,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::Forbidden,
            Self::InsufficientScope(_) => Code::InsufficientScope,
            Self::NotFound(_) => Code::NotFound,
            Self::Conflict(_) => Code::Conflict,
            Self::GateNotPending(_) => Code::GateNotPending,
            Self::KnowledgeInUse(_) => Code::KnowledgeInUse,
            Self::PlanLimitExceeded(_) => Code::PlanLimitExceeded,
            Self::IdempotencyKeyInUse(_) => Code::IdempotencyKeyInUse,
            Self::IdempotencyKeyReused(_) => Code::IdempotencyKeyReused,
            Self::RateLimited(_) => Code::RateLimited,
            Self::TooManyStreams(_) => Code::TooManyStreams,
            Self::Unavailable(_) => Code::Unavailable,
            Self::PayloadTooLarge(_) | Self::TooLarge(_) => Code::PayloadTooLarge,
            Self::QueryTooComplex(_) => Code::QueryTooComplex,
            Self::ResponseTooLarge(_) => Code::ResponseTooLarge,
            Self::MethodNotAllowed => Code::MethodNotAllowed,
            Self::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            Self::BatchTooLarge(_) => Code::BatchTooLarge,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.code().status()
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

    /// The machine-readable members this error adds to its problem document and to its
    /// GraphQL `extensions` (besides `code` and `errors`), so both transports show the
    /// same ones.
    pub fn members(&self) -> Map<String, Value> {
        match self {
            Self::PlanLimitExceeded(l) => Map::from_iter([
                ("resource".to_owned(), Value::from(l.resource)),
                ("tier".to_owned(), Value::from(l.tier)),
                ("limit".to_owned(), Value::from(l.limit)),
            ]),
            _ => Map::new(),
        }
    }

    /// What a client is told: internal details never leave the server.
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

impl From<anyhow::Error> for AppError {
    /// `?` on an unexpected error: internal, with the `?`'s location.
    #[track_caller]
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl From<sea_orm::DbErr> for AppError {
    /// Constraint violations are the client's conflict; everything else is internal.
    #[track_caller]
    fn from(err: sea_orm::DbErr) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a resource with these values already exists".into())
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::Conflict("a referenced resource does not exist or is still in use".into())
            }
            _ => Self::internal(anyhow::Error::new(err).context("database error")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_variant_has_its_codes_status() {
        let errors = [
            AppError::BadRequest(String::new()),
            AppError::invalid("/x", "bad"),
            AppError::Unauthenticated(String::new()),
            AppError::Forbidden(String::new()),
            AppError::InsufficientScope("runs:read".into()),
            AppError::NotFound(String::new()),
            AppError::Conflict(String::new()),
            AppError::PlanLimitExceeded(PlanLimit {
                resource: "agents",
                tier: "free",
                limit: 3,
            }),
            AppError::IdempotencyKeyInUse(String::new()),
            AppError::IdempotencyKeyReused(String::new()),
            AppError::RateLimited(1),
            AppError::TooManyStreams(String::new()),
            AppError::Unavailable(String::new()),
            AppError::PayloadTooLarge(1),
            AppError::QueryTooComplex(String::new()),
            AppError::ResponseTooLarge(1),
            AppError::MethodNotAllowed,
            AppError::UnsupportedMediaType(String::new()),
            AppError::BatchTooLarge(100),
            AppError::internal(anyhow::anyhow!("boom")),
        ];
        for err in errors {
            assert_eq!(err.status(), err.code().status());
        }
    }

    #[test]
    fn a_plan_limit_names_its_limit_in_members_and_message() {
        let err = AppError::PlanLimitExceeded(PlanLimit {
            resource: "agents",
            tier: "free",
            limit: 3,
        });
        assert_eq!(
            Value::Object(err.members()),
            serde_json::json!({ "resource": "agents", "tier": "free", "limit": 3 })
        );
        assert_eq!(
            err.public_message(),
            "the free plan allows 3 agents; delete one or upgrade"
        );
        assert!(AppError::NotFound(String::new()).members().is_empty());
    }

    #[test]
    fn internal_errors_say_where_they_were_made() {
        let line = line!() + 1;
        let err = AppError::internal(anyhow::anyhow!("boom"));
        let AppError::Internal(inner) = &err else {
            panic!("internal");
        };
        let logged = format!("{inner:?}");
        assert!(logged.contains(&format!("{}:{line}", file!())), "{logged}");
        assert!(logged.contains("boom"), "{logged}");
        let via_question_mark = || -> AppResult<()> { Err(anyhow::anyhow!("deep"))? };
        let line = line!() - 1;
        let AppError::Internal(inner) = via_question_mark().unwrap_err() else {
            panic!("internal");
        };
        assert!(format!("{inner:?}").contains(&format!("{}:{line}", file!())));
    }
}
