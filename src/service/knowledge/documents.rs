//! Documents of a knowledge base: listed, read, deleted, indexed again, and watched
//! live. Uploads are in [`super::upload`].

use super::{find as find_base, Services};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::service::pagination::{self, Keyset, Kind, Page, PageArgs, Sort, SortValue};
use entity::knowledge_bases;
use entity::knowledge_documents::{self, Column, DocumentStatus, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};

/// Filters of a document list.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    /// Only these statuses (empty: all).
    pub status: Vec<DocumentStatus>,
}

impl Keyset for Model {
    type Entity = Entity;
    type Field = ();
    fn column(_: ()) -> Column {
        Column::CreatedAt
    }
    fn id_column() -> Column {
        Column::Id
    }
    fn field_name(_: ()) -> &'static str {
        "created_at"
    }
    fn kind(_: ()) -> Kind {
        Kind::Time
    }
    fn value(&self, _: ()) -> SortValue {
        SortValue::Time(self.created_at)
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// Sets a document up as a fresh indexing job, due now.
pub(super) fn requeue(
    a: &mut knowledge_documents::ActiveModel,
    settings: i32,
    now: chrono::DateTime<chrono::Utc>,
) {
    a.status = Set(DocumentStatus::Pending);
    a.error_code = Set(None);
    a.error_message = Set(None);
    a.progress_done = Set(0);
    a.progress_total = Set(0);
    a.attempts = Set(0);
    a.settings_version = Set(settings);
    a.next_attempt_at = Set(Some(now));
    a.lease_owner = Set(None);
    a.updated_at = Set(now);
    a.started_at = Set(None);
    a.completed_at = Set(None);
}

/// After the commit: wake the indexers and show the documents' new state live.
pub(super) fn announce(s: &Services, docs: &[Model]) {
    let (bus, docs) = (s.bus.clone(), docs.to_vec());
    s.after_commit(Box::new(move || {
        if docs.iter().any(|d| d.status == DocumentStatus::Pending) {
            bus.notify_indexing();
        }
        for d in docs {
            bus.publish_document(d);
        }
    }));
}

/// Queues every document of base `knowledge_id` for indexing under `settings`.
pub(super) async fn requeue_all(
    txn: &impl ConnectionTrait,
    knowledge_id: &str,
    settings: i32,
) -> AppResult<()> {
    let now = crate::clock::now();
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(DocumentStatus::Pending))
        .col_expr(Column::SettingsVersion, Expr::value(settings))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::ErrorCode, Expr::value(Option::<String>::None))
        .col_expr(Column::ErrorMessage, Expr::value(Option::<String>::None))
        .col_expr(Column::ProgressDone, Expr::value(0))
        .col_expr(Column::ProgressTotal, Expr::value(0))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::KnowledgeId.eq(knowledge_id))
        .exec(txn)
        .await?;
    Ok(())
}

fn of_base(p: &Principal, knowledge_id: &str) -> sea_orm::Select<Entity> {
    Entity::find()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::KnowledgeId.eq(knowledge_id))
}

/// A page of a base's documents, newest first.
pub async fn list(
    s: &Services,
    p: &Principal,
    base: &knowledge_bases::Model,
    filter: &DocumentFilter,
    args: &PageArgs,
) -> AppResult<Page<Model>> {
    p.require(Scope::KnowledgeRead)?;
    let mut q = of_base(p, &base.id);
    if !filter.status.is_empty() {
        q = q.filter(Column::Status.is_in(filter.status.iter().copied()));
    }
    pagination::paginate(
        &s.db,
        q,
        &[Sort {
            field: (),
            desc: true,
        }],
        args,
    )
    .await
}

/// One document of a live base.
pub async fn get(s: &Services, p: &Principal, knowledge_id: &str, id: &str) -> AppResult<Model> {
    p.require(Scope::KnowledgeRead)?;
    find_base(&s.db, p, knowledge_id).await?;
    find(&s.db, p, knowledge_id, id).await
}

async fn find(
    db: &impl ConnectionTrait,
    p: &Principal,
    knowledge_id: &str,
    id: &str,
) -> AppResult<Model> {
    of_base(p, knowledge_id)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "document {id} not found in knowledge base {knowledge_id}"
            ))
        })
}

/// Deletes a document with its chunks (unsearchable from the commit on).
pub async fn delete(
    s: &Services,
    p: &Principal,
    knowledge_id: &str,
    id: &str,
) -> AppResult<String> {
    p.require(Scope::KnowledgeWrite)?;
    let txn = s.db.begin().await?;
    entity::knowledge_chunks::Entity::delete_many()
        .filter(entity::knowledge_chunks::Column::DocumentId.eq(id))
        .filter(entity::knowledge_chunks::Column::OrgId.eq(&p.org_id))
        .exec(&txn)
        .await?;
    let res = of_base_delete(p, knowledge_id, id).exec(&txn).await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!(
            "document {id} not found in knowledge base {knowledge_id}"
        )));
    }
    crate::knowledge::store::bump(&txn, knowledge_id).await?;
    txn.commit().await?;
    Ok(id.to_owned())
}

fn of_base_delete(p: &Principal, knowledge_id: &str, id: &str) -> sea_orm::DeleteMany<Entity> {
    Entity::delete_many()
        .filter(Column::OrgId.eq(&p.org_id))
        .filter(Column::KnowledgeId.eq(knowledge_id))
        .filter(Column::Id.eq(id))
}

/// Queues a document for indexing again (from its kept original).
pub async fn reindex(
    s: &Services,
    p: &Principal,
    knowledge_id: &str,
    id: &str,
) -> AppResult<Model> {
    p.require(Scope::KnowledgeWrite)?;
    let now = crate::clock::now();
    let txn = s.db.begin().await?;
    let base = knowledge_bases::Entity::find_by_id(knowledge_id.to_owned())
        .filter(knowledge_bases::Column::OrgId.eq(&p.org_id))
        .filter(knowledge_bases::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("knowledge base {knowledge_id} not found")))?;
    let doc = find(&txn, p, knowledge_id, id).await?;
    let mut a: knowledge_documents::ActiveModel = doc.into();
    requeue(&mut a, base.settings_version, now);
    let row = a.update(&txn).await?;
    txn.commit().await?;
    announce(s, std::slice::from_ref(&row));
    Ok(row)
}

/// Base `knowledge_id`'s documents as their indexing moves (uploads, progress, endings).
pub async fn updates(
    s: &Services,
    p: &Principal,
    knowledge_id: &str,
) -> AppResult<impl futures::Stream<Item = std::sync::Arc<Model>>> {
    use futures::StreamExt;
    p.require(Scope::KnowledgeRead)?;
    find_base(&s.db, p, knowledge_id).await?;
    let updates = s.bus.subscribe_documents(&p.org_id);
    let id = knowledge_id.to_owned();
    Ok(updates.into_stream().filter_map(move |d| {
        let keep = d.ok().filter(|doc| doc.knowledge_id == id);
        async move { keep }
    }))
}
