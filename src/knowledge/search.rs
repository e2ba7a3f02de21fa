//! Searching knowledge bases: keyword (SQLite FTS5 with bm25; PostgreSQL `tsvector`
//! with `ts_rank`, as cover density, `ts_rank_cd`, costs twice as much per match),
//! semantic (exact cosine over the bases' vectors, kept in memory per base and dropped
//! when the base's `chunks_version` moves on), and hybrid (both lists fused by
//! reciprocal rank). The caller embeds the query (the embedder lives with the
//! providers); everything here is the database and arithmetic.

use super::query;
use super::rank::{self, Vectors};
use crate::error::AppResult;
use entity::knowledge_bases;
use sea_orm::{
    AccessMode, ConnectionTrait, DbBackend, FromQueryResult, IsolationLevel, Statement,
    StreamTrait, TransactionTrait, Value,
};
use std::sync::Arc;

/// How a search ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Keyword and semantic lists fused (keyword alone where a base has no vectors).
    #[default]
    Hybrid,
    /// Full-text only.
    Keyword,
    /// Vectors only.
    Semantic,
}

impl Mode {
    /// `hybrid`, `keyword` or `semantic`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hybrid" => Some(Self::Hybrid),
            "keyword" => Some(Self::Keyword),
            "semantic" => Some(Self::Semantic),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hybrid => "hybrid",
            Self::Keyword => "keyword",
            Self::Semantic => "semantic",
        }
    }
}

/// One chunk found, with where it came from.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Hit {
    /// The chunk's row id (internal).
    pub seq: i64,
    /// `chk_...`
    pub chunk_id: String,
    /// `kb_...`
    pub knowledge_id: String,
    /// `doc_...`
    pub document_id: String,
    /// The document's name.
    pub document_name: String,
    /// 0, 1, ... within the document.
    pub position: i32,
    /// The chunk's text.
    pub text: String,
    /// The mode's score: bm25-based for keyword (higher is better), cosine for semantic,
    /// the fused score for hybrid.
    #[sea_orm(skip)]
    pub score: f64,
}

/// The vectors of recently searched bases, by base id, with the `chunks_version` they
/// were read at. Cheap to clone.
#[derive(Clone)]
pub struct VectorCache(moka::sync::Cache<String, (i64, Arc<Vectors>)>);

impl VectorCache {
    /// A cache holding at most `mib` MiB of vectors (weighed in KiB).
    pub fn new(mib: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(mib.saturating_mul(1024))
                .weigher(|_, (_, v): &(i64, Arc<Vectors>)| {
                    u32::try_from(v.bytes() / 1024 + 1).unwrap_or(u32::MAX)
                })
                .build(),
        )
    }

    /// Bytes held by the cached vectors (for the memory benchmark).
    pub fn bytes(&self) -> usize {
        self.0.iter().map(|(_, (_, v))| v.bytes()).sum()
    }

    async fn vectors(
        &self,
        db: &(impl ConnectionTrait + StreamTrait),
        base: &knowledge_bases::Model,
    ) -> AppResult<Arc<Vectors>> {
        if let Some((version, v)) = self.0.get(&base.id) {
            if version == base.chunks_version {
                return Ok(v);
            }
        }
        let v = Arc::new(load_vectors(db, &base.id).await?);
        self.0
            .insert(base.id.clone(), (base.chunks_version, v.clone()));
        Ok(v)
    }
}

#[derive(FromQueryResult)]
struct VectorRow {
    seq: i64,
    embedding: Option<Vec<u8>>,
}

/// Streams the base's vectors in (one row decoded at a time: loading 100,000 rows must
/// not hold them all as rows and as floats at once).
async fn load_vectors(
    db: &(impl ConnectionTrait + StreamTrait),
    base_id: &str,
) -> AppResult<Vectors> {
    use futures::StreamExt;
    let backend = ConnectionTrait::get_database_backend(db);
    let sql = match backend {
        DbBackend::Postgres => "SELECT seq, embedding FROM knowledge_chunks WHERE knowledge_id = $1 AND embedding IS NOT NULL ORDER BY seq",
        _ => "SELECT seq, embedding FROM knowledge_chunks WHERE knowledge_id = ?1 AND embedding IS NOT NULL ORDER BY seq",
    };
    let stmt = Statement::from_sql_and_values(backend, sql, [base_id.into()]);
    let mut rows = VectorRow::find_by_statement(stmt).stream(db).await?;
    let mut out = Vectors::default();
    while let Some(row) = rows.next().await {
        let row = row?;
        if let Some(bytes) = row.embedding {
            out.push_bytes(row.seq, &bytes);
        }
    }
    out.shrink();
    Ok(out)
}

#[derive(FromQueryResult)]
struct Ranked {
    seq: i64,
    score: f64,
}

fn placeholders(backend: DbBackend, from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => format!("?{i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The best `limit` chunks of `bases` for the words of `q`, best first, as (seq, score).
pub async fn keyword(
    db: &impl ConnectionTrait,
    bases: &[String],
    q: &str,
    limit: usize,
) -> AppResult<Vec<(i64, f64)>> {
    let backend = db.get_database_backend();
    if bases.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let (sql, values): (String, Vec<Value>) = match backend {
        DbBackend::Postgres => {
            let Some(expr) = query::websearch(q) else {
                return Ok(Vec::new());
            };
            let ins = placeholders(backend, 3, bases.len());
            let sql = format!(
                "SELECT c.seq, ts_rank(c.tsv, q)::float8 AS score \
                 FROM knowledge_chunks c, websearch_to_tsquery('english', $1) q \
                 WHERE c.tsv @@ q AND c.knowledge_id IN ({ins}) \
                 ORDER BY score DESC, c.seq LIMIT $2"
            );
            let mut values: Vec<Value> = vec![expr.into(), (limit as i64).into()];
            values.extend(bases.iter().map(|b| Value::from(b.as_str())));
            (sql, values)
        }
        _ => {
            let Some(expr) = query::fts5(q, bases) else {
                return Ok(Vec::new());
            };
            // The index alone: its base column keeps the match within `bases`; bm25
            // weighs the text only.
            let sql = "SELECT rowid AS seq, -bm25(knowledge_chunks_fts, 1.0, 0.0) AS score \
                 FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH ?1 \
                 ORDER BY score DESC, rowid LIMIT ?2"
                .to_owned();
            (sql, vec![expr.into(), (limit as i64).into()])
        }
    };
    let rows = Ranked::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.seq, r.score)).collect())
}

/// The `limit` chunks of `bases` nearest to `query` (normalised), best first.
pub async fn semantic(
    db: &(impl ConnectionTrait + StreamTrait),
    cache: &VectorCache,
    bases: &[knowledge_bases::Model],
    query: &[f32],
    limit: usize,
) -> AppResult<Vec<(i64, f64)>> {
    let mut all = Vec::new();
    for base in bases.iter().filter(|b| b.embedding_model.is_some()) {
        let vectors = cache.vectors(db, base).await?;
        all.extend(vectors.top(query, limit));
    }
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(limit);
    Ok(all)
}

/// How far down each list hybrid search looks before fusing.
fn depth(top_k: usize) -> usize {
    (top_k * 4).max(20)
}

/// A search of `bases` (all of one organisation): `query` is the embedded `q` when
/// some base has an embedding model and the mode needs it. It reads one snapshot (a
/// read transaction; repeatable read on PostgreSQL), so a document whose chunks are
/// being replaced shows its old chunks or its new ones, never a mix or neither; the
/// bases are read again inside it (a base deleted meanwhile is left out, and cached
/// vectors older than the snapshot are read again).
pub async fn search<D>(
    db: &D,
    cache: &VectorCache,
    bases: &[knowledge_bases::Model],
    q: &str,
    query: Option<&[f32]>,
    mode: Mode,
    top_k: usize,
) -> AppResult<Vec<Hit>>
where
    D: ConnectionTrait + TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
{
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    };
    let bases = live(&txn, bases).await?;
    let ids: Vec<String> = bases.iter().map(|b| b.id.clone()).collect();
    let ranked = match (mode, query) {
        (Mode::Keyword, _) | (Mode::Hybrid, None) => keyword(&txn, &ids, q, top_k).await?,
        (Mode::Semantic, None) => Vec::new(),
        (Mode::Semantic, Some(v)) => semantic(&txn, cache, &bases, v, top_k).await?,
        (Mode::Hybrid, Some(v)) => {
            let n = depth(top_k);
            // Together: the database ranks the words while this thread ranks the vectors.
            let (words, near) = futures::try_join!(
                keyword(&txn, &ids, q, n),
                semantic(&txn, cache, &bases, v, n)
            )?;
            let words: Vec<i64> = words.into_iter().map(|r| r.0).collect();
            let near: Vec<i64> = near.into_iter().map(|r| r.0).collect();
            let mut fused = rank::fuse(&[&words, &near]);
            fused.truncate(top_k);
            fused
        }
    };
    let found = hits(&txn, &ranked).await?;
    txn.commit().await?;
    Ok(found)
}

/// `bases` as the snapshot sees them (deleted ones left out).
async fn live(
    db: &impl ConnectionTrait,
    bases: &[knowledge_bases::Model],
) -> AppResult<Vec<knowledge_bases::Model>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if bases.is_empty() {
        return Ok(Vec::new());
    }
    Ok(knowledge_bases::Entity::find()
        .filter(knowledge_bases::Column::Id.is_in(bases.iter().map(|b| b.id.as_str())))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .all(db)
        .await?)
}

/// The chunks of `ranked` with their documents, in `ranked`'s order, scored.
pub async fn hits(db: &impl ConnectionTrait, ranked: &[(i64, f64)]) -> AppResult<Vec<Hit>> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let ins = placeholders(backend, 1, ranked.len());
    let sql = format!(
        "SELECT c.seq, c.id AS chunk_id, c.knowledge_id, c.document_id, d.name AS document_name, \
         c.position, c.text FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id \
         WHERE c.seq IN ({ins})"
    );
    let values: Vec<Value> = ranked.iter().map(|r| Value::from(r.0)).collect();
    let rows = Hit::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(ranked.len());
    for (seq, score) in ranked {
        if let Some(row) = rows.iter().find(|r| r.seq == *seq) {
            out.push(Hit {
                score: *score,
                ..row.clone()
            });
        }
    }
    Ok(out)
}
