//! Keyset (cursor) pagination, the one implementation every list uses. Never OFFSET.
//!
//! A cursor is base64url JSON holding the sort it was made under and the sort values of
//! its row plus the row's id (the tie-breaker). A cursor made under another sort, or
//! one that does not decode, is a `bad_request`.

use crate::error::{AppError, AppResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::{Deserialize, Serialize};

/// Default page size.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page size.
pub const MAX_LIMIT: u64 = 100;

/// Relay-style page arguments.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Page forward: this many items after `after`.
    pub first: Option<i64>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Page backward: this many items before `before`.
    pub last: Option<i64>,
    /// Cursor to end before.
    pub before: Option<String>,
}

/// A value of a sort column, as kept in a cursor. Tagged, so that a name that looks
/// like a timestamp stays text when the cursor is read back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum SortValue {
    /// Integers (versions).
    #[serde(rename = "i")]
    Int(i64),
    /// Timestamps.
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    /// Text.
    #[serde(rename = "s")]
    Text(String),
}

/// The type of a sort column, to check cursor values against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Integers.
    Int,
    /// Timestamps.
    Time,
    /// Text.
    Text,
}

impl SortValue {
    fn kind(&self) -> Kind {
        match self {
            Self::Int(_) => Kind::Int,
            Self::Time(_) => Kind::Time,
            Self::Text(_) => Kind::Text,
        }
    }

    fn into_expr(self) -> SimpleExpr {
        match self {
            Self::Int(v) => v.into(),
            Self::Time(v) => v.into(),
            Self::Text(v) => v.into(),
        }
    }
}

/// A model that can be paged: how its sort fields map to columns and values.
pub trait Keyset: Sized + Send + Sync {
    /// The entity the model belongs to.
    type Entity: EntityTrait<Model = Self>;
    /// The sortable fields.
    type Field: Copy + PartialEq + std::fmt::Debug + Send + Sync;
    /// The column of a field.
    fn column(field: Self::Field) -> <Self::Entity as EntityTrait>::Column;
    /// The tie-breaking unique column (the id).
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    /// The name of a field, as it appears in cursors.
    fn field_name(field: Self::Field) -> &'static str;
    /// The type of a field's values.
    fn kind(field: Self::Field) -> Kind;
    /// The row's value of a field.
    fn value(&self, field: Self::Field) -> SortValue;
    /// The row's id.
    fn id(&self) -> &str;
}

/// Implements [`Keyset`] for a model paged only by `created_at` (then `id`): the
/// resources listed newest first with no other sort field.
macro_rules! keyset_by_created_at {
    ($model:ty, $entity:ty, $column:ident) => {
        impl $crate::service::pagination::Keyset for $model {
            type Entity = $entity;
            type Field = ();
            fn column(_: ()) -> $column {
                $column::CreatedAt
            }
            fn id_column() -> $column {
                $column::Id
            }
            fn field_name(_: ()) -> &'static str {
                "created_at"
            }
            fn kind(_: ()) -> $crate::service::pagination::Kind {
                $crate::service::pagination::Kind::Time
            }
            fn value(&self, _: ()) -> $crate::service::pagination::SortValue {
                $crate::service::pagination::SortValue::Time(self.created_at)
            }
            fn id(&self) -> &str {
                &self.id
            }
        }
    };
}
pub(crate) use keyset_by_created_at;

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sort<F> {
    /// The field.
    pub field: F,
    /// Descending?
    pub desc: bool,
}

/// One page of rows, each with its cursor.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows in the requested order, with their cursors.
    pub items: Vec<(String, T)>,
    /// More rows follow the last one.
    pub has_next: bool,
    /// Rows precede the first one.
    pub has_previous: bool,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    v: Vec<SortValue>,
    id: String,
}

fn sort_key<M: Keyset>(sort: &[Sort<M::Field>]) -> String {
    sort.iter()
        .map(|s| {
            format!(
                "{}{}",
                if s.desc { "-" } else { "" },
                M::field_name(s.field)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn encode<M: Keyset>(sort: &[Sort<M::Field>], row: &M) -> String {
    let cursor = Cursor {
        s: sort_key::<M>(sort),
        v: sort.iter().map(|s| row.value(s.field)).collect(),
        id: row.id().to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode<M: Keyset>(sort: &[Sort<M::Field>], raw: &str) -> AppResult<Cursor> {
    let bad = || {
        AppError::BadRequest("the cursor is not valid; use a cursor from a previous page".into())
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s != sort_key::<M>(sort) || cursor.v.len() != sort.len() {
        return Err(AppError::BadRequest(
            "the cursor was made for another sort order; pass the same sort as the first page"
                .into(),
        ));
    }
    // A forged cursor with a value of the wrong type must not reach the database.
    if sort
        .iter()
        .zip(&cursor.v)
        .any(|(s, v)| M::kind(s.field) != v.kind())
    {
        return Err(bad());
    }
    Ok(cursor)
}

/// Rows strictly beyond `cursor` in the order given by `keys` (`forward`), or strictly
/// before it: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ... with per-key directions.
fn beyond<C: ColumnTrait>(keys: &[(C, bool)], values: Vec<SortValue>, forward: bool) -> Condition {
    let mut any = Condition::any();
    for i in 0..keys.len() {
        let mut all = Condition::all();
        for (j, (col, _)) in keys.iter().enumerate().take(i) {
            all = all.add(col.into_expr().eq(values[j].clone().into_expr()));
        }
        let (col, desc) = keys[i];
        let value = values[i].clone().into_expr();
        let greater = desc != forward;
        all = all.add(if greater {
            col.into_expr().gt(value)
        } else {
            col.into_expr().lt(value)
        });
        any = any.add(all);
    }
    any
}

/// Validates a page size: 1 to 100, 20 when absent.
pub fn limit(n: Option<i64>) -> AppResult<u64> {
    match n {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as u64),
        Some(n) => Err(AppError::BadRequest(format!(
            "page size must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// Runs `select` (already confined to the caller's organisation) as one page.
pub async fn paginate<M: Keyset>(
    db: &impl ConnectionTrait,
    select: Select<M::Entity>,
    sort: &[Sort<M::Field>],
    args: &PageArgs,
) -> AppResult<Page<M>> {
    if args.first.is_some() && args.last.is_some() {
        return Err(AppError::BadRequest(
            "pass `first` or `last`, not both".into(),
        ));
    }
    let backward = args.last.is_some() || (args.before.is_some() && args.first.is_none());
    let limit = limit(if backward { args.last } else { args.first })?;
    let tie_desc = sort.first().is_some_and(|s| s.desc);
    let keys: Vec<_> = sort
        .iter()
        .map(|s| (M::column(s.field), s.desc))
        .chain(std::iter::once((M::id_column(), tie_desc)))
        .collect();
    let mut select = select;
    for (raw, forward) in [(&args.after, true), (&args.before, false)] {
        if let Some(raw) = raw {
            let cursor = decode::<M>(sort, raw)?;
            let mut values = cursor.v;
            values.push(SortValue::Text(cursor.id));
            select = select.filter(beyond(&keys, values, forward));
        }
    }
    for (col, desc) in &keys {
        let order = if *desc != backward {
            Order::Desc
        } else {
            Order::Asc
        };
        select = select.order_by(*col, order);
    }
    let mut rows = select.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|row| (encode::<M>(sort, &row), row))
        .collect();
    Ok(Page {
        items,
        has_next: if backward {
            args.before.is_some()
        } else {
            more
        },
        has_previous: if backward { more } else { args.after.is_some() },
    })
}
