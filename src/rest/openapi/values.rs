//! The values a REST client sees for enum fields, decided in one place.

use crate::rest::types::Types;

/// The REST values of the GraphQL enum `enum_name` (`None` when it is not an enum): the
/// spellings the REST translation writes (`COMPLETED` → `completed`, `RUN_CREATED` →
/// `run.created`), from `rest::enums`.
pub fn rest_enum_values(types: &Types, enum_name: &str) -> Option<Vec<String>> {
    types.enum_values(enum_name)?;
    Some(crate::rest::enums::rest_enum_values(enum_name))
}
