//! Server-wide secrets kept in the database, so that every node of a cluster shares them.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Returns the secret called `name`, storing `candidate` first if there is none yet. Nodes that
    /// start at once race on the insert; all of them read back the winner's value.
    pub async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(&self.writes)
            .await?;
        let row =
            sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.try_get("value")?)
    }
}
