//! The marketplace's objects the store mirrors (jobs, proposals, invites, contracts) and the
//! relationship stage derived from contracts.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{BeginWrite, Get};
use crate::{Backend, Store};

impl Store {
    /// Creates or replaces a job post. Its org (and author, if given) must exist.
    pub async fn put_job(&self, id: &str, input: &JobInput) -> Result<Upserted<Job>> {
        check_id("job id", id)?;
        check_id("org_id", &input.org_id)?;
        check_opt_id("author_id", input.author_id.as_deref())?;
        check_name("title", &input.title, MAX_NAME * 2)?;
        check_text("description", &input.description)?;
        let status = or_default(&input.status, "open");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let existed = sqlx::query("SELECT id FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO jobs (id, org_id, author_id, title, description, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, author_id = excluded.author_id, \
                 title = excluded.title, description = excluded.description, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(job)
            ))
            .bind(id)
            .bind(input.org_id.as_str())
            .bind(input.author_id.as_deref())
            .bind(input.title.as_str())
            .bind(input.description.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = job_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_job(&self, id: &str) -> Result<Job> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!("SELECT ", cols!(job), " FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?;
            row.as_ref()
                .map(job_of)
                .unwrap_or(Err(StoreError::NotFound("job")))
        })
    }

    /// Creates or replaces a proposal. Its job and freelancer must exist.
    pub async fn put_proposal(
        &self,
        id: &str,
        input: &ProposalInput,
    ) -> Result<Upserted<Proposal>> {
        check_id("proposal id", id)?;
        check_id("job_id", &input.job_id)?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_text("cover_letter", &input.cover_letter)?;
        let status = or_default(&input.status, "submitted");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let existed = sqlx::query("SELECT id FROM proposals WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO proposals (id, job_id, freelancer_id, cover_letter, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, freelancer_id = excluded.freelancer_id, \
                 cover_letter = excluded.cover_letter, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(proposal)
            ))
            .bind(id)
            .bind(input.job_id.as_str())
            .bind(input.freelancer_id.as_str())
            .bind(input.cover_letter.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = proposal_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_proposal(&self, id: &str) -> Result<Proposal> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(proposal),
                " FROM proposals WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(proposal_of)
                .unwrap_or(Err(StoreError::NotFound("proposal")))
        })
    }

    /// Creates or replaces an invite. Its org, freelancer (and job, sender, if given) must exist.
    pub async fn put_invite(&self, id: &str, input: &InviteInput) -> Result<Upserted<Invite>> {
        check_id("invite id", id)?;
        check_opt_id("job_id", input.job_id.as_deref())?;
        check_id("org_id", &input.org_id)?;
        check_opt_id("sender_id", input.sender_id.as_deref())?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_text("message", &input.message)?;
        let status = or_default(&input.status, "sent");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let existed = sqlx::query("SELECT id FROM invites WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO invites (id, job_id, org_id, sender_id, freelancer_id, message, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, org_id = excluded.org_id, \
                 sender_id = excluded.sender_id, freelancer_id = excluded.freelancer_id, \
                 message = excluded.message, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(invite)
            ))
            .bind(id)
            .bind(input.job_id.as_deref())
            .bind(input.org_id.as_str())
            .bind(input.sender_id.as_deref())
            .bind(input.freelancer_id.as_str())
            .bind(input.message.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = invite_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_invite(&self, id: &str) -> Result<Invite> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(invite),
                " FROM invites WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(invite_of)
                .unwrap_or(Err(StoreError::NotFound("invite")))
        })
    }

    /// Creates or replaces a contract between a client organisation and a freelancer.
    pub async fn put_contract(
        &self,
        id: &str,
        input: &ContractInput,
    ) -> Result<Upserted<Contract>> {
        check_id("contract id", id)?;
        check_id("client_org_id", &input.client_org_id)?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_opt_id("job_id", input.job_id.as_deref())?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let existed = sqlx::query("SELECT id FROM contracts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO contracts (id, client_org_id, freelancer_id, status, job_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET client_org_id = excluded.client_org_id, \
                 freelancer_id = excluded.freelancer_id, status = excluded.status, job_id = excluded.job_id, \
                 updated_at = excluded.updated_at RETURNING ",
                cols!(contract)
            ))
            .bind(id)
            .bind(input.client_org_id.as_str())
            .bind(input.freelancer_id.as_str())
            .bind(input.status.as_str())
            .bind(input.job_id.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = contract_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_contract(&self, id: &str) -> Result<Contract> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(contract),
                " FROM contracts WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(contract_of)
                .unwrap_or(Err(StoreError::NotFound("contract")))
        })
    }

    // ---------------------------------------------------------------- relationship stage

    /// The stage between a client organisation and a freelancer: `active_contract` if any
    /// contract is active, `ended_contract` if any ended and none active, else `pre_contract`.
    pub async fn stage(&self, client_org_id: &str, freelancer_id: &str) -> Result<Stage> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS active, \
                 COALESCE(SUM(CASE WHEN status = 'ended' THEN 1 ELSE 0 END), 0) AS ended \
                 FROM contracts WHERE client_org_id = $1 AND freelancer_id = $2",
            )
            .bind(client_org_id)
            .bind(freelancer_id)
            .fetch_one(p)
            .await?;
            Ok(Stage::from_counts(row.i("active")?, row.i("ended")?))
        })
    }

    /// For `sender` in `conversation_id`: every other member with the stage between them, from
    /// the contracts in either direction (sender's org as client and member as freelancer, or
    /// member's org as client and sender as freelancer). NotFound unless the sender is a member.
    /// The strictest wins: `Stage::strictest(result.iter().map(|m| m.stage))`.
    pub async fn member_stages(
        &self,
        conversation_id: &str,
        sender_id: &str,
    ) -> Result<Vec<MemberStage>> {
        on_read!(self, |p| {
            let sender = sqlx::query(
                "SELECT u.org_id FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.conversation_id = $1 AND m.user_id = $2",
            )
            .bind(conversation_id)
            .bind(sender_id)
            .fetch_optional(p)
            .await?
            .ok_or(StoreError::NotFound("conversation"))?;
            let sender_org = sender.os("org_id")?;
            let rows = sqlx::query(
                "SELECT u.id, u.org_id, u.roles, \
                 COALESCE(SUM(CASE WHEN c.status = 'active' THEN 1 ELSE 0 END), 0) AS active, \
                 COALESCE(SUM(CASE WHEN c.status = 'ended' THEN 1 ELSE 0 END), 0) AS ended \
                 FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 LEFT JOIN contracts c ON ((c.client_org_id = $2 AND c.freelancer_id = u.id) \
                   OR (c.client_org_id = u.org_id AND c.freelancer_id = $3)) \
                 WHERE m.conversation_id = $1 AND m.user_id <> $3 \
                 GROUP BY u.id, u.org_id, u.roles ORDER BY u.id",
            )
            .bind(conversation_id)
            .bind(sender_org.as_deref())
            .bind(sender_id)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let org_id = r.os("org_id")?;
                    Ok(MemberStage {
                        user_id: r.s("id")?,
                        same_org: org_id.is_some() && org_id == sender_org,
                        org_id,
                        roles: roles_parse(&r.s("roles")?),
                        stage: Stage::from_counts(r.i("active")?, r.i("ended")?),
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_order() {
        assert_eq!(Stage::from_counts(1, 3), Stage::ActiveContract);
        assert_eq!(Stage::from_counts(0, 1), Stage::EndedContract);
        assert_eq!(Stage::from_counts(0, 0), Stage::PreContract);
        assert_eq!(
            Stage::strictest([Stage::ActiveContract, Stage::PreContract]),
            Some(Stage::PreContract)
        );
    }
}
