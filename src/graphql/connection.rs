//! Relay connections from service pages, and the ordering types lists share.

use crate::service::pagination::{Page, PageArgs};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Enum, OutputType};

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Relay arguments as the service takes them.
pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageArgs {
    PageArgs {
        first: first.map(i64::from),
        after,
        last: last.map(i64::from),
        before,
    }
}

/// A connection of `T` built from a page of models.
pub fn from_page<M, T: OutputType>(page: Page<M>, wrap: impl Fn(M) -> T) -> Connection<String, T> {
    let mut conn = Connection::new(page.has_previous, page.has_next);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, m)| Edge::new(cursor, wrap(m))),
    );
    conn
}
