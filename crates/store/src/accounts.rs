//! Organisations, users and profiles.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{placeholders, BeginWrite};
use crate::{Backend, Store};

fn roles_text(roles: &[Role]) -> String {
    let mut r: Vec<Role> = roles.to_vec();
    r.sort();
    r.dedup();
    r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

impl Store {
    /// Creates or replaces an organisation (PUT semantics).
    pub async fn put_org(&self, id: &str, input: &OrgInput) -> Result<Upserted<Org>> {
        check_id("org id", id)?;
        check_name("name", &input.name, MAX_NAME)?;
        check_name("plan", &input.plan, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let existed = sqlx::query("SELECT id FROM orgs WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO orgs (id, name, plan, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(org)
            ))
            .bind(id)
            .bind(input.name.as_str())
            .bind(input.plan.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = org_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_org(&self, id: &str) -> Result<Org> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!("SELECT ", cols!(org), " FROM orgs WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?;
            row.as_ref()
                .map(org_of)
                .unwrap_or(Err(StoreError::NotFound("org")))
        })
    }

    /// Creates or replaces a user (PUT semantics). `org_id`, if given, must exist.
    pub async fn put_user(&self, id: &str, input: &UserInput) -> Result<Upserted<User>> {
        check_id("user id", id)?;
        check_name("name", &input.name, MAX_NAME)?;
        check_opt_id("org_id", input.org_id.as_deref())?;
        check_opt_short("country", input.country.as_deref())?;
        check_opt_short("time_zone", input.time_zone.as_deref())?;
        let roles = roles_text(&input.roles);
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            if let Some(org) = input.org_id.as_deref() {
                if sqlx::query("SELECT id FROM orgs WHERE id = $1")
                    .bind(org)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Err(StoreError::Invalid(format!("org {org:?} does not exist")));
                }
            }
            let existed = sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO users (id, name, org_id, roles, country, time_zone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_id = excluded.org_id, \
                 roles = excluded.roles, country = excluded.country, time_zone = excluded.time_zone, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(user)
            ))
            .bind(id)
            .bind(input.name.as_str())
            .bind(input.org_id.as_deref())
            .bind(roles.as_str())
            .bind(input.country.as_deref())
            .bind(input.time_zone.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = user_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_user(&self, id: &str) -> Result<User> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!("SELECT ", cols!(user), " FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?;
            row.as_ref()
                .map(user_of)
                .unwrap_or(Err(StoreError::NotFound("user")))
        })
    }

    /// Creates or replaces a user's profile. The user must exist.
    pub async fn put_profile(
        &self,
        user_id: &str,
        input: &ProfileInput,
    ) -> Result<Upserted<Profile>> {
        check_id("user id", user_id)?;
        check_text("headline", &input.headline)?;
        check_text("bio", &input.bio)?;
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
            let existed = sqlx::query("SELECT user_id FROM profiles WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO profiles (user_id, headline, bio, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (user_id) DO UPDATE SET headline = excluded.headline, bio = excluded.bio, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(profile)
            ))
            .bind(user_id)
            .bind(input.headline.as_str())
            .bind(input.bio.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = profile_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_profile(&self, user_id: &str) -> Result<Profile> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(profile),
                " FROM profiles WHERE user_id = $1"
            ))
            .bind(user_id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(profile_of)
                .unwrap_or(Err(StoreError::NotFound("profile")))
        })
    }

    /// Several users at once (unknown ids are skipped), ordered by id; at most 1000 ids.
    pub async fn get_users(&self, ids: &[String]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > 1000 {
            return Err(StoreError::Invalid("at most 1000 ids at once".into()));
        }
        let sql = format!(
            concat!(
                "SELECT ",
                cols!(user),
                " FROM users WHERE id IN ({}) ORDER BY id"
            ),
            placeholders(1, ids.len())
        );
        on_read!(self, |p| {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            let rows = q.fetch_all(p).await?;
            rows.iter().map(user_of).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        let r = roles_text(&[Role::Freelancer, Role::Client, Role::Client]);
        assert_eq!(r, "client,freelancer");
        assert_eq!(roles_parse(&r), vec![Role::Client, Role::Freelancer]);
        assert_eq!(roles_parse(""), Vec::<Role>::new());
    }
}
