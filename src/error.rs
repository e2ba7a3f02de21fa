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
    Internal(anyhow::Error),
}

/// Shorthand for results in this crate.
pub type AppResult<T> = Result<T, AppError>;

/// Every stable machine code a client can be shown, by REST (`code`, lower case) or
/// GraphQL (`extensions.code`, upper case). Each has exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Malformed request.
    BadRequest,
    /// Input that breaks a rule.
    ValidationFailed,
    /// No valid credentials.
    Unauthenticated,
    /// Not allowed at all.
    Forbidden,
    /// A scope is missing.
    InsufficientScope,
    /// No such resource (for this caller).
    NotFound,
    /// Conflicts with the current state.
    Conflict,
    /// Over the plan's limits.
    PlanLimitExceeded,
    /// Too many requests.
    RateLimited,
    /// Too many open streams.
    TooManyStreams,
    /// Shutting down, or the database is unavailable.
    Unavailable,
    /// The body is too large.
    PayloadTooLarge,
    /// A GraphQL document over the cost limits.
    QueryTooComplex,
    /// A GraphQL response over the size cap.
    ResponseTooLarge,
    /// Wrong method for the route.
    MethodNotAllowed,
    /// Wrong Content-Type.
    UnsupportedMediaType,
    /// The GraphQL endpoint cannot answer in an accepted media type.
    NotAcceptable,
    /// A GraphQL document that does not parse.
    GraphqlParseFailed,
    /// A GraphQL document that does not validate.
    GraphqlValidationFailed,
    /// A GraphQL argument or variable of the wrong shape.
    BadUserInput,
    /// An `Idempotency-Key` used by a request still in progress.
    IdempotencyKeyInUse,
    /// An `Idempotency-Key` reused with a different request.
    IdempotencyKeyReused,
    /// A run stopped because its writes could not be stored.
    StorageError,
    /// A run whose worker stopped holding its lease.
    WorkerLost,
    /// Anything unexpected.
    Internal,
}

impl Code {
    /// Every code.
    pub const ALL: [Self; 25] = [
        Self::BadRequest,
        Self::ValidationFailed,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::InsufficientScope,
        Self::NotFound,
        Self::Conflict,
        Self::PlanLimitExceeded,
        Self::RateLimited,
        Self::TooManyStreams,
        Self::Unavailable,
        Self::PayloadTooLarge,
        Self::QueryTooComplex,
        Self::ResponseTooLarge,
        Self::MethodNotAllowed,
        Self::UnsupportedMediaType,
        Self::NotAcceptable,
        Self::GraphqlParseFailed,
        Self::GraphqlValidationFailed,
        Self::BadUserInput,
        Self::IdempotencyKeyInUse,
        Self::IdempotencyKeyReused,
        Self::StorageError,
        Self::WorkerLost,
        Self::Internal,
    ];

    /// The code as REST shows it (`not_found`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::ValidationFailed => "validation_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::InsufficientScope => "insufficient_scope",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PlanLimitExceeded => "plan_limit_exceeded",
            Self::RateLimited => "rate_limited",
            Self::TooManyStreams => "too_many_streams",
            Self::Unavailable => "unavailable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::QueryTooComplex => "query_too_complex",
            Self::ResponseTooLarge => "response_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotAcceptable => "not_acceptable",
            Self::GraphqlParseFailed => "graphql_parse_failed",
            Self::GraphqlValidationFailed => "graphql_validation_failed",
            Self::BadUserInput => "bad_user_input",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::StorageError => "storage_error",
            Self::WorkerLost => "worker_lost",
            Self::Internal => "internal",
        }
    }

    /// The code as GraphQL shows it in `extensions.code` (`NOT_FOUND`).
    pub fn graphql(self) -> String {
        self.as_str().to_ascii_uppercase()
    }

    /// The code spelt `s`, in either case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// The HTTP status of this code. No wildcard arm: a new code must choose one.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::GraphqlParseFailed
            | Self::GraphqlValidationFailed
            | Self::BadUserInput
            | Self::QueryTooComplex
            | Self::ResponseTooLarge => StatusCode::BAD_REQUEST,
            Self::ValidationFailed | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::InsufficientScope | Self::PlanLimitExceeded => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict | Self::IdempotencyKeyInUse => StatusCode::CONFLICT,
            Self::RateLimited | Self::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::Unavailable | Self::StorageError => StatusCode::SERVICE_UNAVAILABLE,
            Self::WorkerLost | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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
            Self::PlanLimitExceeded(_) => Code::PlanLimitExceeded,
            Self::RateLimited(_) => Code::RateLimited,
            Self::TooManyStreams(_) => Code::TooManyStreams,
            Self::Unavailable(_) => Code::Unavailable,
            Self::PayloadTooLarge(_) => Code::PayloadTooLarge,
            Self::QueryTooComplex(_) => Code::QueryTooComplex,
            Self::ResponseTooLarge(_) => Code::ResponseTooLarge,
            Self::MethodNotAllowed => Code::MethodNotAllowed,
            Self::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
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

    /// What a client is told: internal details never leave the server.
    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

/// The HTTP status for a machine code from outside (GraphQL `extensions.code`, mapped
/// back to a status in the REST layer), so the table exists once. A string that is no
/// [`Code`] (a resolver's own, say) is an internal error.
pub fn status_for_code(code: &str) -> StatusCode {
    match Code::parse(code) {
        Some(code) => code.status(),
        None => StatusCode::INTERNAL_SERVER_ERROR,
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
    fn every_code_round_trips_and_has_one_status() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
            assert_eq!(Code::parse(&code.graphql()), Some(code));
            assert_eq!(status_for_code(code.as_str()), code.status());
            assert_eq!(status_for_code(&code.graphql()), code.status());
        }
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "codes are distinct");
    }

    #[test]
    fn known_codes_keep_their_statuses_and_unknown_ones_are_internal() {
        let cases = [
            ("bad_request", 400),
            ("graphql_parse_failed", 400),
            ("GRAPHQL_VALIDATION_FAILED", 400),
            ("bad_user_input", 400),
            ("query_too_complex", 400),
            ("response_too_large", 400),
            ("validation_failed", 422),
            ("idempotency_key_reused", 422),
            ("unauthenticated", 401),
            ("forbidden", 403),
            ("insufficient_scope", 403),
            ("plan_limit_exceeded", 403),
            ("not_found", 404),
            ("conflict", 409),
            ("idempotency_key_in_use", 409),
            ("rate_limited", 429),
            ("too_many_streams", 429),
            ("payload_too_large", 413),
            ("method_not_allowed", 405),
            ("unsupported_media_type", 415),
            ("unavailable", 503),
            ("storage_error", 503),
            ("internal", 500),
            ("no_such_code", 500),
        ];
        for (code, status) in cases {
            assert_eq!(status_for_code(code).as_u16(), status, "{code}");
        }
    }

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
            AppError::PlanLimitExceeded(String::new()),
            AppError::RateLimited(1),
            AppError::TooManyStreams(String::new()),
            AppError::Unavailable(String::new()),
            AppError::PayloadTooLarge(1),
            AppError::QueryTooComplex(String::new()),
            AppError::ResponseTooLarge(1),
            AppError::MethodNotAllowed,
            AppError::UnsupportedMediaType(String::new()),
            AppError::internal(anyhow::anyhow!("boom")),
        ];
        for err in errors {
            assert_eq!(err.status(), err.code().status());
        }
    }

    #[test]
    fn internal_errors_say_where_they_were_made() {
        let line = line!() + 1;
        let err = AppError::internal(anyhow::anyhow!("boom"));
        let AppError::Internal(inner) = &err else {
            panic!("internal");
        };
        let logged = format!("{inner:?}");
        assert!(logged.contains(&format!("src/error.rs:{line}")), "{logged}");
        assert!(logged.contains("boom"), "{logged}");
        let via_question_mark = || -> AppResult<()> { Err(anyhow::anyhow!("deep"))? };
        let line = line!() - 1;
        let AppError::Internal(inner) = via_question_mark().unwrap_err() else {
            panic!("internal");
        };
        assert!(format!("{inner:?}").contains(&format!("src/error.rs:{line}")));
    }
}
