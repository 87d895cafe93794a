//! In-process caches of the hot path: who a token belongs to, and the context a sender's
//! messages are decided in (the other members with their stages, the plans). Both are filled
//! from the store on a miss and emptied by the writes that change them: the handler that
//! makes such a write invalidates this node's caches before answering, and publishes a
//! [`crate::BusEvent::Invalidate`] so other nodes do the same. A short TTL bounds what a
//! change made behind the server's back (straight in the database) can leave stale.
//!
//! A lookup that raced an invalidation must not put the old value back: every entry is
//! stored only if no invalidation happened since the lookup began (a generation counter).

use parley_policy::Stage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What an invalidation drops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Invalidation {
    /// Every cached token of this user (revocation).
    UserTokens { user_id: String },
    /// Every sender context (a plan, a user's organisation or roles, a contract or a
    /// conversation's members changed).
    Contexts,
    /// Everything (a node that may have missed invalidations).
    All,
    /// The user's tokens were revoked at `valid_after` (Unix ms): cached stored tokens are
    /// dropped and operator-minted ones issued at or before it are refused (see [`crate::jwt`]).
    TokensValidAfter { user_id: String, valid_after: i64 },
}

/// A cached token: whose it is and until when.
#[derive(Debug, Clone)]
struct TokenEntry {
    user_id: String,
    expires_at: i64,
}

/// The context of one sender in one conversation.
#[derive(Debug, Clone)]
pub struct SendContext {
    /// Every member of the conversation, the sender included (who is told of new events).
    pub members: Vec<String>,
    /// One `(stage, plan)` per other member (the policy context towards them).
    pub pairs: Vec<(Stage, String)>,
    /// The plan of the sender's organisation (used when the sender is alone).
    pub own_plan: String,
}

struct Map<K, V> {
    generation: u64,
    entries: HashMap<K, (V, Instant)>,
}

impl<K, V> Map<K, V> {
    /// Drops every entry and starts a new generation (lookups in flight will not store).
    fn reset(&mut self) {
        self.generation += 1;
        self.entries.clear();
    }
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            generation: 0,
            entries: HashMap::new(),
        }
    }
}

/// The caches of one node (cheap to share behind an `Arc`).
pub struct Caches {
    ttl: Duration,
    max_entries: usize,
    tokens: Mutex<Map<String, TokenEntry>>,
    contexts: Mutex<Map<(String, String), Arc<SendContext>>>,
    /// Per user, the "tokens valid after" time of operator-minted tokens (not a cache: never
    /// emptied by [`Invalidation::All`]; the last day's are re-read from the store).
    floors: Mutex<HashMap<String, i64>>,
}

/// A lookup's ticket: the generation it started in (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map that is still consistent (plain inserts and
    // removals): keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Caches {
    /// `ttl` zero disables caching (every lookup misses).
    pub fn new(ttl: Duration, max_entries: usize) -> Caches {
        Caches {
            ttl,
            max_entries: max_entries.max(1),
            tokens: Mutex::default(),
            contexts: Mutex::default(),
            floors: Mutex::default(),
        }
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// The user of a token hash, if cached, fresh and not expired at `now_ms`.
    pub fn token(&self, hash: &str, now_ms: i64) -> Result<String, Ticket> {
        self.token_entry(hash, now_ms).map(|(user, _)| user)
    }

    /// The user of a token hash and the token's expiry (Unix ms), if cached, fresh and not
    /// expired at `now_ms`.
    pub fn token_entry(&self, hash: &str, now_ms: i64) -> Result<(String, i64), Ticket> {
        let m = lock(&self.tokens);
        match m.entries.get(hash) {
            Some((e, at)) if self.fresh(*at) && e.expires_at > now_ms => {
                Ok((e.user_id.clone(), e.expires_at))
            }
            _ => Err(Ticket(m.generation)),
        }
    }

    /// Remembers a token looked up under `ticket`.
    pub fn put_token(&self, ticket: Ticket, hash: String, user_id: String, expires_at: i64) {
        self.put(
            &self.tokens,
            ticket,
            hash,
            TokenEntry {
                user_id,
                expires_at,
            },
        );
    }

    /// The cached context of `sender` in `conversation`.
    pub fn context(&self, conversation: &str, sender: &str) -> Result<Arc<SendContext>, Ticket> {
        let m = lock(&self.contexts);
        // One allocation-free probe would need a borrowed tuple key; the key is small.
        match m
            .entries
            .get(&(conversation.to_string(), sender.to_string()))
        {
            Some((c, at)) if self.fresh(*at) => Ok(c.clone()),
            _ => Err(Ticket(m.generation)),
        }
    }

    /// Remembers a context looked up under `ticket`.
    pub fn put_context(
        &self,
        ticket: Ticket,
        conversation: &str,
        sender: &str,
        ctx: Arc<SendContext>,
    ) {
        self.put(
            &self.contexts,
            ticket,
            (conversation.to_string(), sender.to_string()),
            ctx,
        );
    }

    /// Stores `value` under `key` in `map` unless caching is off or an invalidation happened
    /// since `ticket` was taken; a full map first drops its stale entries, then everything.
    fn put<K: Eq + Hash, V>(&self, map: &Mutex<Map<K, V>>, ticket: Ticket, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut m = lock(map);
        if m.generation != ticket.0 {
            return;
        }
        if m.entries.len() >= self.max_entries {
            let ttl = self.ttl;
            m.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if m.entries.len() >= self.max_entries {
                m.entries.clear();
            }
        }
        m.entries.insert(key, (value, Instant::now()));
    }

    fn drop_user_tokens(&self, user_id: &str) {
        let mut m = lock(&self.tokens);
        m.generation += 1;
        m.entries.retain(|_, (e, _)| e.user_id != *user_id);
    }

    /// Raises the user's "tokens valid after" time to `at` (never lowers it).
    pub fn raise_floor(&self, user_id: &str, at: i64) {
        let mut m = lock(&self.floors);
        let f = m.entry(user_id.to_string()).or_insert(at);
        *f = (*f).max(at);
    }

    /// The user's "tokens valid after" time, if any.
    pub fn floor(&self, user_id: &str) -> Option<i64> {
        lock(&self.floors).get(user_id).copied()
    }

    /// Forgets the times before `before` (they refuse no token that is not already expired).
    pub fn forget_floors_before(&self, before: i64) {
        lock(&self.floors).retain(|_, f| *f >= before);
    }

    /// Drops what `what` says (and makes lookups in flight not store their results).
    pub fn invalidate(&self, what: &Invalidation) {
        match what {
            Invalidation::UserTokens { user_id } => self.drop_user_tokens(user_id),
            Invalidation::TokensValidAfter {
                user_id,
                valid_after,
            } => {
                self.raise_floor(user_id, *valid_after);
                self.drop_user_tokens(user_id);
            }
            Invalidation::Contexts => lock(&self.contexts).reset(),
            Invalidation::All => {
                lock(&self.tokens).reset();
                lock(&self.contexts).reset();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Arc<SendContext> {
        Arc::new(SendContext {
            members: vec!["a".into(), "b".into()],
            pairs: vec![(Stage::PreContract, "basic".into())],
            own_plan: "basic".into(),
        })
    }

    #[test]
    fn tokens_hit_expire_and_revoke() {
        let c = Caches::new(Duration::from_secs(60), 100);
        let t = c.token("h", 0).unwrap_err();
        c.put_token(t, "h".into(), "u".into(), 1_000);
        assert_eq!(c.token("h", 10).unwrap(), "u");
        assert!(c.token("h", 1_000).is_err(), "expired token served");
        c.invalidate(&Invalidation::UserTokens {
            user_id: "u".into(),
        });
        assert!(c.token("h", 10).is_err(), "revoked token served");
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_stored() {
        let c = Caches::new(Duration::from_secs(60), 100);
        let t = c.context("c", "a").unwrap_err();
        c.invalidate(&Invalidation::Contexts);
        c.put_context(t, "c", "a", ctx());
        assert!(c.context("c", "a").is_err());
        let t = c.context("c", "a").unwrap_err();
        c.put_context(t, "c", "a", ctx());
        assert_eq!(c.context("c", "a").unwrap().members.len(), 2);
        let t = c.token("h", 0).unwrap_err();
        c.invalidate(&Invalidation::UserTokens {
            user_id: "x".into(),
        });
        c.put_token(t, "h".into(), "u".into(), 1_000);
        assert!(c.token("h", 0).is_err());
    }

    #[test]
    fn zero_ttl_caches_nothing_and_size_is_bounded() {
        let c = Caches::new(Duration::ZERO, 100);
        let t = c.context("c", "a").unwrap_err();
        c.put_context(t, "c", "a", ctx());
        assert!(c.context("c", "a").is_err());
        let c = Caches::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            let t = c.token(&format!("h{i}"), 0).unwrap_err();
            c.put_token(t, format!("h{i}"), "u".into(), 1_000);
        }
        assert!(lock(&c.tokens).entries.len() <= 3);
    }
}
