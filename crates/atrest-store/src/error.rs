/// Storage failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database location or its settings cannot be used.
    #[error("{0}")]
    Config(String),
    /// An audit batch could not be written.
    #[error("audit log: {0}")]
    Audit(String),
    /// The audit writer has stopped (the server is shutting down).
    #[error("the audit log writer has stopped")]
    AuditClosed,
}
