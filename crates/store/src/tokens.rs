//! User tokens: issued once, stored as their SHA-256, authenticated, revoked.

use sha2::{Digest, Sha256};

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{hex, random_hex, BeginWrite};
use crate::{Backend, Store};

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Issues a random token for a user (256 bits, `pt_` + hex); only its SHA-256 is stored.
    pub async fn create_token(
        &self,
        user_id: &str,
        expires_at: Millis,
        label: Option<&str>,
    ) -> Result<IssuedToken> {
        if let Some(l) = label {
            check_name("label", l, MAX_NAME)?;
        }
        let token = format!("pt_{}", random_hex(32)?);
        let hash = token_hash(&token);
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            if sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound("user"));
            }
            let row = sqlx::query(concat!(
                "INSERT INTO tokens (hash, user_id, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
                cols!(token)
            ))
            .bind(hash.as_str())
            .bind(user_id)
            .bind(label)
            .bind(now)
            .bind(expires_at)
            .fetch_one(&mut *tx)
            .await?;
            let info = token_of(&row)?;
            tx.commit().await?;
            Ok(IssuedToken { token, info })
        })
    }

    /// The token's record if it is known, not revoked and not expired at `now`; otherwise
    /// NotFound("token") (the same answer for every failure, so nothing leaks).
    pub async fn authenticate(&self, token: &str, now: Millis) -> Result<TokenInfo> {
        if token.is_empty() || token.len() > 256 {
            return Err(StoreError::NotFound("token"));
        }
        let hash = token_hash(token);
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(token),
                " FROM tokens WHERE hash = $1"
            ))
            .bind(hash.as_str())
            .fetch_optional(p)
            .await?;
            let info = match row {
                Some(r) => token_of(&r)?,
                None => return Err(StoreError::NotFound("token")),
            };
            if info.revoked_at.is_some() || info.expires_at <= now {
                return Err(StoreError::NotFound("token"));
            }
            Ok(info)
        })
    }

    /// Revokes a token by its value. NotFound if unknown; revoking twice is a no-op.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        self.revoke_token_id(&token_hash(token)).await
    }

    /// Revokes a token by its id (its hash, as in [`TokenInfo::id`]).
    pub async fn revoke_token_id(&self, id: &str) -> Result<()> {
        let now = now_ms();
        on_write!(self, |p| {
            let n = sqlx::query(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound("token"));
            }
            Ok(())
        })
    }

    /// Revokes every live token of a user; returns how many.
    pub async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64> {
        let now = now_ms();
        on_write!(self, |p| {
            Ok(sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected())
        })
    }

    /// Revokes every stored token of a user and refuses the operator-minted ones (JWTs) issued
    /// at or before `now` (the user's "tokens valid after" time), in one transaction; returns
    /// how many stored tokens were revoked.
    pub async fn revoke_all_tokens(&self, user_id: &str, now: Millis) -> Result<u64> {
        check_id("user_id", user_id)?;
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let n = sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "INSERT INTO token_floors (user_id, valid_after) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET valid_after = excluded.valid_after",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Every user's "tokens valid after" time set after `since` (Unix ms).
    pub async fn token_floors_since(&self, since: Millis) -> Result<Vec<(String, Millis)>> {
        on_read!(self, |p| {
            Ok(sqlx::query_as::<_, (String, i64)>(
                "SELECT user_id, valid_after FROM token_floors WHERE valid_after > $1",
            )
            .bind(since)
            .fetch_all(p)
            .await?)
        })
    }

    /// A user's tokens (without the secrets), newest first.
    pub async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(token),
                " FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, hash"
            ))
            .bind(user_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(token_of).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
