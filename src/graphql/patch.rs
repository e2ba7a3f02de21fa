//! The fields of an `Update...Input`: left out (keep the value), a value (set it), or
//! `null` (clear it, where a field may be cleared; otherwise a validation error).

use async_graphql::MaybeUndefined;

/// A field that cannot be cleared: `null` is noted in `nulls` (by its JSON pointer) for
/// the service to refuse.
pub(crate) fn keep<T>(v: MaybeUndefined<T>, pointer: &str, nulls: &mut Vec<String>) -> Option<T> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => {
            nulls.push(pointer.to_owned());
            None
        }
    }
}

/// A field `null` clears: `None` keeps it, `Some(None)` clears it.
pub(crate) fn clearable<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
