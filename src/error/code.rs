//! The stable machine codes clients match on, each with its one HTTP status.

use http::StatusCode;
use serde::Serialize;

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
    /// A gate that is no longer pending (already approved, rejected or expired).
    GateNotPending,
    /// A knowledge base that an agent still lists cannot be deleted.
    KnowledgeInUse,
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
    /// A batch (`POST /v1/batch`, or a GraphQL array) with more operations than allowed.
    BatchTooLarge,
    /// An operation of an atomic batch failed, so none of its operations' changes were kept.
    BatchRolledBack,
    /// Anything unexpected.
    Internal,
}

impl Code {
    /// Every code.
    pub const ALL: [Self; 29] = [
        Self::BadRequest,
        Self::ValidationFailed,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::InsufficientScope,
        Self::NotFound,
        Self::Conflict,
        Self::GateNotPending,
        Self::KnowledgeInUse,
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
        Self::BatchTooLarge,
        Self::BatchRolledBack,
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
            Self::GateNotPending => "gate_not_pending",
            Self::KnowledgeInUse => "knowledge_in_use",
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
            Self::BatchTooLarge => "batch_too_large",
            Self::BatchRolledBack => "batch_rolled_back",
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
            | Self::ResponseTooLarge
            | Self::BatchTooLarge => StatusCode::BAD_REQUEST,
            Self::ValidationFailed | Self::IdempotencyKeyReused | Self::BatchRolledBack => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::InsufficientScope | Self::PlanLimitExceeded => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict
            | Self::GateNotPending
            | Self::KnowledgeInUse
            | Self::IdempotencyKeyInUse => StatusCode::CONFLICT,
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

/// The HTTP status for a machine code from outside (GraphQL `extensions.code`, mapped
/// back to a status in the REST layer), so the table exists once. A string that is no
/// [`Code`] (a resolver's own, say) is an internal error.
pub fn status_for_code(code: &str) -> StatusCode {
    match Code::parse(code) {
        Some(code) => code.status(),
        None => StatusCode::INTERNAL_SERVER_ERROR,
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
            ("batch_too_large", 400),
            ("BATCH_ROLLED_BACK", 422),
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
}
