//! Versioned migrations, applied in order at connect time, each in its own
//! transaction, under a session advisory lock so that several processes
//! starting at once apply each migration exactly once.

use jiff::Timestamp;
use tokio_postgres::{Client, Config, NoTls};

use super::{PgError, R};
use crate::{StoreError, StoreResult};

// Every migration (`MIGRATIONS`), in order, listed from `migrations/` by
// the build script. Never edit one that has shipped: add a new one.
include!(concat!(env!("OUT_DIR"), "/postgres_migrations.rs"));

/// The advisory lock key that serialises migrations ("tally_mg").
const LOCK_KEY: i64 = 0x7461_6c6c_795f_6d67;

pub(super) async fn apply(config: &Config) -> StoreResult<()> {
    let (mut client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
    let connection = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection failed");
        }
    });
    let result = locked(&mut client).await;
    // Closing the session also releases the lock should unlocking have failed.
    drop(client);
    let _ = connection.await;
    result.map_err(StoreError::from)
}

async fn locked(client: &mut Client) -> R<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
    let result = pending(client).await;
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await;
    result?;
    unlocked?;
    Ok(())
}

async fn pending(client: &mut Client) -> R<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version     bigint PRIMARY KEY,
                applied_at  bigint NOT NULL
            )",
        )
        .await?;
    let current: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .await?
        .try_get(0)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(PgError::Store(StoreError::Database(format!(
            "the database is at schema version {current}, newer than this tally ({newest}); upgrade tally"
        ))));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await.map_err(|e| {
            PgError::Store(StoreError::Database(format!(
                "migration {version} failed: {}",
                StoreError::from(PgError::Db(e))
            )))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &Timestamp::now().as_millisecond()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    Ok(())
}
