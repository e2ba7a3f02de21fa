//! Knowledge bases: created, listed, changed (a chunking or embedding model change
//! indexes every document again, as jobs), deleted (refused while an agent lists the
//! base; a deleted base's chunks stop being searchable at once). Documents and their
//! indexing are in [`documents`], search in [`search`].

pub mod documents;
pub mod search;
pub mod upload;
mod validate;

use super::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use super::Services;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::ids;
use crate::knowledge::blobs::Store;
use crate::runtime::retrieval::Retriever;
use entity::knowledge_bases::{self, Column, Entity, Model};
use entity::knowledge_documents::{self, DocumentStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
pub use validate::{DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS};

/// What knowledge needs beside the database: the embeddings client, the vectors kept
/// for semantic search, and where originals are kept. Cheap to clone.
#[derive(Clone)]
pub struct Knowledge {
    /// Search (with its embeddings client and cached vectors), shared with the runs.
    pub retriever: Retriever,
    /// Where originals are kept.
    pub blobs: Store,
}

/// How documents are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Largest chunk in tokens.
    pub max_tokens: i32,
    /// Tokens shared by neighbouring chunks.
    pub overlap_tokens: i32,
}

/// A new knowledge base.
#[derive(Debug, Clone, Default)]
pub struct NewBase {
    /// Its name (1 to 200 characters).
    pub name: String,
    /// A note for people.
    pub description: Option<String>,
    /// Chunk sizes; each field defaults when missing.
    pub max_tokens: Option<i32>,
    /// Overlap in tokens.
    pub overlap_tokens: Option<i32>,
    /// `provider/model` of the embeddings (none: keyword search only).
    pub embedding_model: Option<String>,
}

/// A change: `None` leaves a field; the doubly optional ones clear with `Some(None)`.
#[derive(Debug, Clone, Default)]
pub struct BasePatch {
    /// New name.
    pub name: Option<String>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New chunk size.
    pub max_tokens: Option<i32>,
    /// New overlap.
    pub overlap_tokens: Option<i32>,
    /// New embedding model; `Some(None)` removes it (keyword search only).
    pub embedding_model: Option<Option<String>>,
    /// Pointers of fields sent as `null` that cannot be null.
    pub nulls: Vec<String>,
}

/// Sortable fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

impl Keyset for Model {
    type Entity = Entity;
    type Field = BaseField;
    fn column(field: BaseField) -> Column {
        match field {
            BaseField::CreatedAt => Column::CreatedAt,
            BaseField::UpdatedAt => Column::UpdatedAt,
        }
    }
    fn id_column() -> Column {
        Column::Id
    }
    fn field_name(field: BaseField) -> &'static str {
        match field {
            BaseField::CreatedAt => "created_at",
            BaseField::UpdatedAt => "updated_at",
        }
    }
    fn kind(_: BaseField) -> Kind {
        Kind::Time
    }
    fn value(&self, field: BaseField) -> SortValue {
        SortValue::Time(match field {
            BaseField::CreatedAt => self.created_at,
            BaseField::UpdatedAt => self.updated_at,
        })
    }
    fn id(&self) -> &str {
        &self.id
    }
}

fn of_org(p: &Principal) -> sea_orm::Select<Entity> {
    Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::DeletedAt.is_null())
}

/// One live base of the caller's organisation, whatever the caller's scopes.
pub(crate) async fn find(db: &impl ConnectionTrait, p: &Principal, id: &str) -> AppResult<Model> {
    of_org(p)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("knowledge base {id} not found")))
}

/// Every id of `knowledge_ids` names a live knowledge base of the caller's organisation
/// (one error per id that does not).
pub(crate) async fn check_ids(
    db: &impl ConnectionTrait,
    p: &Principal,
    ids: &[String],
) -> AppResult<()> {
    let found = crate::runtime::retrieval::bases(db, &p.org_id, ids).await?;
    let errors = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.iter().any(|b| &b.id == *id))
        .map(|(i, id)| {
            crate::error::FieldError::new(
                format!("/knowledge_ids/{i}"),
                format!("no knowledge base {id} in this organisation"),
            )
        })
        .collect();
    AppError::from_field_errors(errors)
}

/// Creates a base.
pub async fn create(s: &Services, p: &Principal, new: NewBase) -> AppResult<Model> {
    p.require(Scope::KnowledgeWrite)?;
    let (max, overlap) = (
        new.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        new.overlap_tokens.unwrap_or(DEFAULT_OVERLAP_TOKENS),
    );
    let mut check = validate::Check::default();
    check.name(&new.name);
    check.description(new.description.as_deref());
    check.chunking(max, overlap);
    if let Some(m) = &new.embedding_model {
        check.model(&s.knowledge.retriever.embedder, m);
    }
    check.finish()?;
    let now = crate::clock::now();
    let row = knowledge_bases::ActiveModel {
        id: Set(ids::new_id(ids::KNOWLEDGE_BASE)),
        org_id: Set(p.org_id.clone()),
        name: Set(new.name),
        description: Set(new.description),
        chunk_max_tokens: Set(max),
        chunk_overlap_tokens: Set(overlap),
        embedding_model: Set(new.embedding_model),
        settings_version: Set(1),
        chunks_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    Ok(row.insert(&s.db).await?)
}

/// One base.
pub async fn get(s: &Services, p: &Principal, id: &str) -> AppResult<Model> {
    p.require(Scope::KnowledgeRead)?;
    find(&s.db, p, id).await
}

/// A page of the caller's bases, newest first unless `sort` says otherwise.
pub async fn list(
    s: &Services,
    p: &Principal,
    sort: &[Sort<BaseField>],
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::KnowledgeRead)?;
    let default = [Sort {
        field: BaseField::CreatedAt,
        desc: true,
    }];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    pagination::paginate(&s.db, of_org(p), sort, args).await
}

/// Applies a patch. A change of chunking or embedding model moves the base's
/// `settings_version` on and queues every document for indexing again, in the same
/// transaction; each keeps its current chunks searchable until its new ones replace them.
pub async fn update(s: &Services, p: &Principal, id: &str, patch: BasePatch) -> AppResult<Model> {
    p.require(Scope::KnowledgeWrite)?;
    let current = find(&s.db, p, id).await?;
    let max = patch.max_tokens.unwrap_or(current.chunk_max_tokens);
    let overlap = patch.overlap_tokens.unwrap_or(current.chunk_overlap_tokens);
    let mut check = validate::Check::default();
    for pointer in &patch.nulls {
        check.not_null(pointer);
    }
    if let Some(name) = &patch.name {
        check.name(name);
    }
    if let Some(Some(d)) = &patch.description {
        check.description(Some(d));
    }
    check.chunking(max, overlap);
    if let Some(Some(m)) = &patch.embedding_model {
        check.model(&s.knowledge.retriever.embedder, m);
    }
    check.finish()?;
    let model = patch
        .embedding_model
        .clone()
        .unwrap_or(current.embedding_model.clone());
    let reindex = max != current.chunk_max_tokens
        || overlap != current.chunk_overlap_tokens
        || model != current.embedding_model;
    let now = crate::clock::now();
    let mut set = knowledge_bases::ActiveModel {
        updated_at: Set(now),
        chunk_max_tokens: Set(max),
        chunk_overlap_tokens: Set(overlap),
        embedding_model: Set(model),
        ..Default::default()
    };
    if let Some(name) = patch.name {
        set.name = Set(name);
    }
    if let Some(d) = patch.description {
        set.description = Set(d);
    }
    let txn = s.db.begin().await?;
    let mut update = Entity::update_many()
        .set(set)
        .filter(Column::Id.eq(id))
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::DeletedAt.is_null());
    if reindex {
        update = update.col_expr(
            Column::SettingsVersion,
            Expr::col(Column::SettingsVersion).add(1),
        );
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!("knowledge base {id} not found")));
    }
    if reindex {
        documents::requeue_all(&txn, id, current.settings_version + 1).await?;
    }
    let base = find(&txn, p, id).await?;
    txn.commit().await?;
    if reindex {
        let bus = s.bus.clone();
        s.after_commit(Box::new(move || bus.notify_indexing()));
    }
    Ok(base)
}

/// Deletes a base: refused (`knowledge_in_use`) while an agent lists it. Its documents
/// and chunks go with it, in one transaction.
pub async fn delete(s: &Services, p: &Principal, id: &str) -> AppResult<String> {
    p.require(Scope::KnowledgeWrite)?;
    let now = crate::clock::now();
    let txn = s.db.begin().await?;
    let res = Entity::update_many()
        .col_expr(Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!("knowledge base {id} not found")));
    }
    let users = agents_listing(&txn, &p.org_id, id).await?;
    if !users.is_empty() {
        txn.rollback().await?;
        return Err(AppError::KnowledgeInUse(format!(
            "knowledge base {id} is listed in the knowledge_ids of agent {}; remove it from the agent first",
            users.join(", ")
        )));
    }
    entity::knowledge_chunks::Entity::delete_many()
        .filter(entity::knowledge_chunks::Column::KnowledgeId.eq(id))
        .exec(&txn)
        .await?;
    knowledge_documents::Entity::delete_many()
        .filter(knowledge_documents::Column::KnowledgeId.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(id.to_owned())
}

/// The live agents of `org_id` whose `knowledge_ids` list `id`.
async fn agents_listing(
    db: &impl ConnectionTrait,
    org_id: &str,
    id: &str,
) -> AppResult<Vec<String>> {
    use entity::agents;
    let rows: Vec<(String, serde_json::Value)> = agents::Entity::find()
        .select_only()
        .column(agents::Column::Id)
        .column(agents::Column::KnowledgeIds)
        .filter(agents::Column::OrgId.eq(org_id))
        .filter(agents::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, ids)| ids.as_array().is_some_and(|a| a.iter().any(|v| v == id)))
        .map(|(agent, _)| agent)
        .collect())
}

/// Whether any document of the base waits for or is in indexing.
pub(crate) async fn is_indexing(db: &impl ConnectionTrait, ids: &[String]) -> AppResult<bool> {
    let busy = knowledge_documents::Entity::find()
        .select_only()
        .column(knowledge_documents::Column::Id)
        .filter(knowledge_documents::Column::KnowledgeId.is_in(ids.iter().map(String::as_str)))
        .filter(
            knowledge_documents::Column::Status
                .is_in([DocumentStatus::Pending, DocumentStatus::Indexing]),
        )
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(busy.is_some())
}
