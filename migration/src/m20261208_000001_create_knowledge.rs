use sea_orm_migration::{prelude::*, schema::*};

/// Knowledge bases: the bases, their documents (each one leased indexing job), the
/// originals (deduplicated by SHA-256 per organisation), the chunks with their vectors,
/// and a full-text index over the chunks (SQLite FTS5 with bm25; PostgreSQL a generated
/// `tsvector` with a GIN index). Agents get their retrieval settings.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KnowledgeBases::Table)
                .col(string(KnowledgeBases::Id).primary_key())
                .col(string(KnowledgeBases::OrgId))
                .col(string(KnowledgeBases::Name))
                .col(text_null(KnowledgeBases::Description))
                .col(integer(KnowledgeBases::ChunkMaxTokens))
                .col(integer(KnowledgeBases::ChunkOverlapTokens))
                .col(string_null(KnowledgeBases::EmbeddingModel))
                .col(integer(KnowledgeBases::SettingsVersion))
                .col(big_integer(KnowledgeBases::ChunksVersion))
                .col(timestamp_with_time_zone(KnowledgeBases::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeBases::UpdatedAt))
                .col(timestamp_with_time_zone_null(KnowledgeBases::DeletedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeBases::Table, KnowledgeBases::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_bases_org_created")
                .table(KnowledgeBases::Table)
                .col(KnowledgeBases::OrgId)
                .col(KnowledgeBases::CreatedAt)
                .col(KnowledgeBases::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(KnowledgeBlobs::Table)
                .col(string(KnowledgeBlobs::OrgId))
                .col(string(KnowledgeBlobs::Sha256))
                .col(blob_null(KnowledgeBlobs::Data))
                .col(big_integer(KnowledgeBlobs::Size))
                .col(timestamp_with_time_zone(KnowledgeBlobs::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(KnowledgeBlobs::OrgId)
                        .col(KnowledgeBlobs::Sha256),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeBlobs::Table, KnowledgeBlobs::OrgId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(KnowledgeDocuments::Table)
                .col(string(KnowledgeDocuments::Id).primary_key())
                .col(string(KnowledgeDocuments::OrgId))
                .col(string(KnowledgeDocuments::KnowledgeId))
                .col(string(KnowledgeDocuments::Name))
                .col(string(KnowledgeDocuments::Format))
                .col(string(KnowledgeDocuments::ContentType))
                .col(json(KnowledgeDocuments::Metadata))
                .col(string(KnowledgeDocuments::Sha256))
                .col(big_integer(KnowledgeDocuments::SizeBytes))
                .col(string(KnowledgeDocuments::Status))
                .col(string_null(KnowledgeDocuments::ErrorCode))
                .col(text_null(KnowledgeDocuments::ErrorMessage))
                .col(integer(KnowledgeDocuments::ProgressDone))
                .col(integer(KnowledgeDocuments::ProgressTotal))
                .col(integer(KnowledgeDocuments::Attempts))
                .col(integer(KnowledgeDocuments::ChunkCount))
                .col(big_integer(KnowledgeDocuments::TokenCount))
                .col(integer(KnowledgeDocuments::SettingsVersion))
                .col(timestamp_with_time_zone_null(
                    KnowledgeDocuments::NextAttemptAt,
                ))
                .col(string_null(KnowledgeDocuments::LeaseOwner))
                .col(timestamp_with_time_zone(KnowledgeDocuments::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeDocuments::UpdatedAt))
                .col(timestamp_with_time_zone_null(KnowledgeDocuments::StartedAt))
                .col(timestamp_with_time_zone_null(
                    KnowledgeDocuments::CompletedAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeDocuments::Table, KnowledgeDocuments::KnowledgeId)
                        .to(KnowledgeBases::Table, KnowledgeBases::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One document per name in a base: uploading the name again replaces it.
        m.create_index(
            Index::create()
                .name("idx_knowledge_documents_base_name")
                .table(KnowledgeDocuments::Table)
                .col(KnowledgeDocuments::KnowledgeId)
                .col(KnowledgeDocuments::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_documents_base_created")
                .table(KnowledgeDocuments::Table)
                .col(KnowledgeDocuments::KnowledgeId)
                .col(KnowledgeDocuments::CreatedAt)
                .col(KnowledgeDocuments::Id)
                .to_owned(),
        )
        .await?;
        // Indexing workers look for due documents.
        m.create_index(
            Index::create()
                .name("idx_knowledge_documents_due")
                .table(KnowledgeDocuments::Table)
                .col(KnowledgeDocuments::Status)
                .col(KnowledgeDocuments::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(KnowledgeChunks::Table)
                // An integer key: the full-text index's rowid (SQLite renumbers implicit
                // rowids on VACUUM; an INTEGER PRIMARY KEY it keeps).
                .col(
                    big_integer(KnowledgeChunks::Seq)
                        .primary_key()
                        .auto_increment(),
                )
                .col(string(KnowledgeChunks::Id))
                .col(string(KnowledgeChunks::OrgId))
                .col(string(KnowledgeChunks::KnowledgeId))
                .col(string(KnowledgeChunks::DocumentId))
                .col(integer(KnowledgeChunks::Position))
                .col(text(KnowledgeChunks::Text))
                .col(integer(KnowledgeChunks::Tokens))
                .col(blob_null(KnowledgeChunks::Embedding))
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeChunks::Table, KnowledgeChunks::DocumentId)
                        .to(KnowledgeDocuments::Table, KnowledgeDocuments::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_knowledge_chunks_document", KnowledgeChunks::DocumentId),
            ("idx_knowledge_chunks_base", KnowledgeChunks::KnowledgeId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(KnowledgeChunks::Table)
                    .col(col)
                    .col(KnowledgeChunks::Position)
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        match m.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE knowledge_chunks ADD COLUMN tsv tsvector \
                     GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_knowledge_chunks_tsv ON knowledge_chunks USING GIN (tsv)",
                )
                .await?;
            }
            _ => {
                // External content: the index keeps no second copy of the text; the
                // triggers keep it in step with the chunks in the same transaction. The
                // base's id is a column too, so a search matches within its bases in the
                // index itself (other organisations' chunks cost it nothing).
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE knowledge_chunks_fts USING fts5(text, knowledge_id, \
                     content='knowledge_chunks', content_rowid='seq', \
                     tokenize='porter unicode61 remove_diacritics 2')",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER knowledge_chunks_fts_insert AFTER INSERT ON knowledge_chunks BEGIN \
                     INSERT INTO knowledge_chunks_fts(rowid, text, knowledge_id) \
                     VALUES (new.seq, new.text, new.knowledge_id); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER knowledge_chunks_fts_delete AFTER DELETE ON knowledge_chunks BEGIN \
                     INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, text, knowledge_id) \
                     VALUES ('delete', old.seq, old.text, old.knowledge_id); END",
                )
                .await?;
            }
        }
        m.alter_table(
            Table::alter()
                .table(Agents::Table)
                .add_column(json_null(Agents::Retrieval))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Agents::Table)
                .drop_column(Agents::Retrieval)
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP TABLE IF EXISTS knowledge_chunks_fts")
                .await?;
        }
        for t in [
            KnowledgeChunks::Table.into_iden(),
            KnowledgeDocuments::Table.into_iden(),
            KnowledgeBlobs::Table.into_iden(),
            KnowledgeBases::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum KnowledgeBases {
    Table,
    Id,
    OrgId,
    Name,
    Description,
    ChunkMaxTokens,
    ChunkOverlapTokens,
    EmbeddingModel,
    SettingsVersion,
    ChunksVersion,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum KnowledgeBlobs {
    Table,
    OrgId,
    Sha256,
    Data,
    Size,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeDocuments {
    Table,
    Id,
    OrgId,
    KnowledgeId,
    Name,
    Format,
    ContentType,
    Metadata,
    Sha256,
    SizeBytes,
    Status,
    ErrorCode,
    ErrorMessage,
    ProgressDone,
    ProgressTotal,
    Attempts,
    ChunkCount,
    TokenCount,
    SettingsVersion,
    NextAttemptAt,
    LeaseOwner,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum KnowledgeChunks {
    Table,
    Seq,
    Id,
    OrgId,
    KnowledgeId,
    DocumentId,
    Position,
    Text,
    Tokens,
    Embedding,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Retrieval,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}
