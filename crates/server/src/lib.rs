//! # parley-server
//!
//! The message center: the integration API (operator key), the client API (user tokens), live
//! delivery over WebSocket, with every text a user writes checked by the detector and the policy.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let state = parley_server::AppState::new(parley_server::Config::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! parley_server::run(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod blob;
pub mod blob_object;
pub mod bus;
pub mod cache;
pub mod calls_config;
pub mod clamav;
pub mod config;
mod config_error;
pub mod domain;
pub mod error;
pub mod export;
pub mod files_config;
pub mod guard;
pub mod ident;
pub mod jwt;
pub mod limits;
pub mod listen;
pub use listen::raise_open_files_limit;
pub mod nats_bus;
pub mod rate;
pub mod routes;
pub mod turn_filter;
pub mod turn_relay;
pub mod webhook_sign;
pub mod webhook_target;
pub mod webhook_worker;
pub mod window;
mod ws;
// The web UI (kept last in this list: other modules are added above).
pub mod web;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::Router;
use parley_detect::Detector;
use parley_policy::Policy;
use parley_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

pub use bus::{Bus, BusEvent, Hub, LocalBus};
pub use cache::{Caches, Invalidation};
pub use config::{Config, ConfigError};
pub use domain::{demo, metrics, policy_audit};
pub use error::{ApiError, ApiResult};
pub use ws::{parse_client_frame, ClientFrame};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub store: Store,
    pub policy: Policy,
    pub detector: Detector,
    pub config: Config,
    pub bus: Arc<dyn Bus>,
    pub user_rate: rate::RateLimiter,
    pub key_rate: rate::RateLimiter,
    /// The last metrics aggregation (see [`metrics`]).
    pub metrics: metrics::Cache,
    /// Token and sender-context caches (see [`cache`]).
    pub caches: Arc<Caches>,
    /// This node's sockets by user, fed from the bus.
    pub hub: Arc<Hub>,
    /// Recent messages per (conversation, sender), for split contact details.
    pub windows: window::Windows,
    /// Typing fan-outs, at most one per (conversation, sender) per `typing_interval_ms`.
    pub typing: limits::TypingGate,
    /// Failed authentications per client address.
    pub auth_failures: limits::AuthFailures,
    /// File storage, uploads being written, the download signing key.
    pub files: domain::uploads::Files,
    /// The calls in progress on this node.
    pub calls: domain::calls::Calls,
    /// The TURN REST secret and the TURN URLs handed to clients.
    pub turn: domain::call_ice::TurnSecret,
    /// The built-in TURN relay, once started (`turn_relay::start`).
    pub turn_relay: std::sync::OnceLock<Arc<turn_relay::Relay>>,
    /// The keys of operator-minted tokens (none: JWTs are refused).
    pub jwt: Option<jwt::Verifier>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("policy file {path}:\n{reason}")]
    Policy { path: String, reason: String },
    #[error("detector: {0}")]
    Detector(String),
    #[error("database: {0}")]
    Store(#[from] parley_store::StoreError),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("files: {0}")]
    Files(String),
    #[error("{0}")]
    Nats(String),
}

/// Reads and checks the policy file (every problem with its line), or the built-in policy.
pub fn load_policy(path: Option<&str>) -> Result<Policy, StartError> {
    load_policy_source(path).map(|(p, _)| p)
}

/// [`load_policy`] and the source text it was parsed from (the built-in TOML when no file).
pub fn load_policy_source(path: Option<&str>) -> Result<(Policy, String), StartError> {
    let Some(path) = path else {
        return Ok((
            Policy::default(),
            parley_policy::DEFAULT_POLICY_TOML.to_string(),
        ));
    };
    let src = std::fs::read_to_string(path).map_err(|e| StartError::Policy {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let policy = Policy::from_toml_str(&src).map_err(|e| StartError::Policy {
        path: path.into(),
        reason: e.to_string(),
    })?;
    Ok((policy, src))
}

impl AppState {
    /// Connects the store (migrations applied), loads the policy, builds the detector.
    /// A policy that differs from the last one recorded is appended to the audit trail.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        let (policy, source) = load_policy_source(config.policy.as_deref())?;
        let store = Store::connect(&config.database).await?;
        let origin = config.policy.clone().unwrap_or_else(|| "built-in".into());
        policy_audit::record_policy(&store, &source, &origin).await?;
        let bus: Arc<dyn Bus> = match config.nats_url.as_deref() {
            Some(url) => nats_bus::NatsBus::connect(url)
                .await
                .map_err(StartError::Nats)?,
            None => Arc::new(LocalBus::default()),
        };
        let state = AppState::with_parts(config, store, policy, bus)?;
        if state.inner.jwt.is_some() {
            // Before the first request: a token revoked before this node started stays refused.
            let since = parley_store::now_ms() - jwt::FLOOR_KEEP_MS;
            for (user, at) in state.store().token_floors_since(since).await? {
                state.inner.caches.raise_floor(&user, at);
            }
        }
        Ok(state)
    }

    pub fn with_parts(
        config: Config,
        store: Store,
        policy: Policy,
        bus: Arc<dyn Bus>,
    ) -> Result<AppState, StartError> {
        config.validate()?;
        if config.appeal_window_days < 180 {
            tracing::warn!(
                days = config.appeal_window_days,
                "appeal_window_days is under 180 (the DSA asks for at least six months)"
            );
        }
        let detector = policy
            .detector_builder()
            .build()
            .map_err(|e| StartError::Detector(e.to_string()))?;
        let caches = Arc::new(Caches::new(
            std::time::Duration::from_secs(config.cache_ttl_secs),
            config.cache_max_entries,
        ));
        let files = domain::uploads::Files::new(&config.files, &config.database)
            .map_err(StartError::Files)?;
        let jwt = jwt::Verifier::from_config(&config)?;
        let hub = Arc::new(Hub::with_bus(bus.clone()));
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(hub.clone().run(bus.subscribe(), caches.clone()));
                if let Some(a) = config.files.clamav.as_deref() {
                    rt.spawn(clamav::log_at_start(
                        a.to_string(),
                        config.files.clamav_fail_open,
                    ));
                }
            }
            Err(_) => tracing::warn!("no tokio runtime: live delivery and bus invalidations off"),
        }
        let state = AppState {
            inner: Arc::new(Inner {
                files,
                calls: domain::calls::Calls::default(),
                turn: domain::call_ice::TurnSecret::new(
                    config.calls.turn_secret.as_deref(),
                    config.calls.turn_urls.clone(),
                ),
                turn_relay: std::sync::OnceLock::new(),
                jwt,
                caches,
                hub,
                windows: window::Windows::new(
                    config.window_messages,
                    config.window_secs,
                    config.window_max_entries,
                ),
                typing: limits::TypingGate::new(std::time::Duration::from_millis(
                    config.typing_interval_ms,
                )),
                auth_failures: limits::AuthFailures::new(
                    config.auth_failures_per_sec,
                    config.auth_failure_burst,
                ),
                user_rate: rate::RateLimiter::new(config.user_rate_per_sec, config.user_burst),
                key_rate: rate::RateLimiter::new(config.key_rate_per_sec, config.key_burst),
                store,
                policy,
                detector,
                config,
                bus,
                metrics: metrics::Cache::default(),
            }),
        };
        // The detector compiles its patterns and prepares phone metadata per
        // region on first use; warm everything in the background so that no
        // request pays for it.
        let warm = state.inner.clone();
        std::thread::spawn(move || warm.detector.warm());
        domain::uploads::spawn_collector(&state);
        domain::reminders::spawn(&state);
        domain::call_sweep::spawn_sweeper(&state);
        let every = state.inner.config.position_check_secs;
        if state.inner.config.nats_url.is_some() && every > 0 {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let weak = Arc::downgrade(&state.inner);
                rt.spawn(nats_bus::check_positions(weak, Duration::from_secs(every)));
            }
        }
        if state.inner.config.webhook_delivery {
            webhook_worker::spawn(&state);
        }
        if state.inner.jwt.is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let every = Duration::from_secs(state.inner.config.cache_ttl_secs.clamp(1, 30));
                rt.spawn(follow_token_floors(Arc::downgrade(&state.inner), every));
            }
        }
        Ok(state)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The server's time in Unix milliseconds (the system clock shifted by
    /// `clock_offset_secs`): what policy decisions, strikes, restrictions and appeal windows use.
    pub fn now_ms(&self) -> i64 {
        parley_store::now_ms()
            .saturating_add(self.inner.config.clock_offset_secs.saturating_mul(1000))
    }

    /// The operator: `Authorization: Bearer <admin key>`, rate limited per key.
    pub fn require_admin(&self, headers: &HeaderMap) -> ApiResult<()> {
        let Some(key) = self.inner.config.admin_key.as_deref() else {
            return Err(ApiError::unauthorized());
        };
        let given = bearer(headers).ok_or_else(ApiError::unauthorized)?;
        if !constant_time_eq(given.as_bytes(), key.as_bytes()) {
            return Err(ApiError::unauthorized());
        }
        if !self.inner.key_rate.allow("admin") {
            return Err(ApiError::rate_limited());
        }
        Ok(())
    }

    /// The user of a token, rate limited per user. Cached for `cache_ttl_secs` (by the token's
    /// hash); revocation through the API empties the user's entries at once on every node.
    pub async fn authenticate(&self, token: &str) -> ApiResult<String> {
        self.authenticate_until(token).await.map(|(user, _)| user)
    }

    /// [`AppState::authenticate`], and when the token expires (Unix ms).
    pub async fn authenticate_until(&self, token: &str) -> ApiResult<(String, i64)> {
        let (user_id, expires_at) = self.identify(token).await?;
        if !self.inner.user_rate.allow(&user_id) {
            return Err(ApiError::rate_limited());
        }
        Ok((user_id, expires_at))
    }

    /// The user of a token and its expiry (Unix ms), without charging the user's rate limit.
    pub async fn identify(&self, token: &str) -> ApiResult<(String, i64)> {
        if let Some(verified) = self.identify_jwt(token) {
            return verified;
        }
        if token.is_empty() || token.len() > 256 {
            return Err(ApiError::unauthorized());
        }
        let now = parley_store::now_ms();
        let hash = parley_store::token_hash(token);
        match self.inner.caches.token_entry(&hash, now) {
            Ok(hit) => Ok(hit),
            Err(ticket) => {
                let info = match self.inner.store.authenticate(token, now).await {
                    Ok(i) => i,
                    Err(
                        parley_store::StoreError::NotFound(_)
                        | parley_store::StoreError::Invalid(_),
                    ) => return Err(ApiError::unauthorized()),
                    Err(e) => return Err(e.into()),
                };
                self.inner
                    .caches
                    .put_token(ticket, hash, info.user_id.clone(), info.expires_at);
                Ok((info.user_id, info.expires_at))
            }
        }
    }

    /// An operator-minted token (see [`jwt`]): its user and expiry (Unix ms), verified from the
    /// token and this node's "tokens valid after" times, without a database read. `None` when
    /// the credential is not a JWT or no JWT key is configured.
    pub fn identify_jwt(&self, token: &str) -> Option<ApiResult<(String, i64)>> {
        let verifier = self.inner.jwt.as_ref()?;
        if !jwt::looks_like_jwt(token) {
            return None;
        }
        let v = match verifier.verify(token, parley_store::now_ms()) {
            Some(v) => v,
            None => return Some(Err(ApiError::unauthorized())),
        };
        if jwt::revoked(v.issued_at, self.inner.caches.floor(&v.user_id)) {
            return Some(Err(ApiError::unauthorized()));
        }
        Some(Ok((v.user_id, v.expires_at)))
    }

    /// Whether `given` is the operator key or a live user token (nothing charged); errors
    /// only when the store cannot answer.
    pub async fn credential_is_valid(&self, given: &str) -> ApiResult<bool> {
        if let Some(key) = self.inner.config.admin_key.as_deref() {
            if constant_time_eq(given.as_bytes(), key.as_bytes()) {
                return Ok(true);
            }
        }
        match self.identify(given).await {
            Ok(_) => Ok(true),
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Drops cached entries on this node now, and on the others through the bus.
    pub fn invalidate(&self, what: Invalidation) {
        self.inner.caches.invalidate(&what);
        self.inner.bus.publish(BusEvent::Invalidate { what });
    }

    pub async fn require_user(&self, headers: &HeaderMap) -> ApiResult<String> {
        let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
        self.authenticate(token).await
    }

    /// Tells every node that these users have new events.
    pub fn notify(&self, users: impl IntoIterator<Item = String>) {
        for user_id in users {
            self.inner.bus.publish(BusEvent::Events { user_id });
        }
    }
}

/// Keeps this node's "tokens valid after" times (see [`jwt`]): the last day's read from the
/// store at start and every `cache_ttl_secs` (at least 1 s), so a node that missed a bus message
/// catches up; older ones are forgotten (every token they would refuse has expired).
async fn follow_token_floors(weak: std::sync::Weak<Inner>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        let since = parley_store::now_ms() - jwt::FLOOR_KEEP_MS;
        match inner.store.token_floors_since(since).await {
            Ok(floors) => {
                for (user, at) in floors {
                    inner.caches.raise_floor(&user, at);
                }
                inner.caches.forget_floors_before(since);
            }
            Err(e) => tracing::warn!(error = %e, "could not read the tokens' valid-after times"),
        }
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every route, as `(method, path)` (the OpenAPI document is checked against this list).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/health"),
    ("get", "/v1/openapi.json"),
    ("get", "/v1/docs"),
    ("get", "/"),
    ("get", "/app/{path}"),
    ("get", "/embed"),
    ("get", "/v1/me"),
    ("get", "/v1/demo/users"),
    ("post", "/v1/demo/users/{id}/session"),
    ("put", "/v1/orgs/{id}"),
    ("put", "/v1/users/{id}"),
    ("post", "/v1/users/{id}/tokens"),
    ("delete", "/v1/users/{id}/tokens"),
    ("put", "/v1/users/{id}/profile"),
    ("put", "/v1/contracts/{id}"),
    ("put", "/v1/jobs/{id}"),
    ("put", "/v1/proposals/{id}"),
    ("put", "/v1/invites/{id}"),
    ("post", "/v1/conversations"),
    ("get", "/v1/conversations"),
    ("get", "/v1/conversations/{id}"),
    ("get", "/v1/conversations/{id}/messages"),
    ("post", "/v1/conversations/{id}/messages"),
    ("patch", "/v1/conversations/{id}/messages/{message_id}"),
    ("delete", "/v1/conversations/{id}/messages/{message_id}"),
    ("post", "/v1/conversations/{id}/read"),
    ("post", "/v1/conversations/{id}/typing"),
    ("post", "/v1/check"),
    ("get", "/v1/events"),
    ("get", "/v1/ws"),
    ("get", "/v1/moderation/queue"),
    ("post", "/v1/moderation/items/{id}/decision"),
    ("get", "/v1/moderation/stats"),
    ("post", "/v1/reports"),
    ("get", "/v1/reports/reasons"),
    ("get", "/v1/me/enforcements"),
    ("post", "/v1/appeals"),
    ("get", "/v1/conversations/{id}/export"),
    ("get", "/metrics"),
    ("get", "/v1/metrics"),
    ("get", "/v1/admin/dashboard"),
    ("post", "/v1/conversations/{id}/proposals"),
    ("post", "/v1/proposals/{id}/accept"),
    ("put", "/v1/me/availability"),
    ("get", "/v1/me/availability"),
    ("get", "/v1/users/{id}/slots"),
    ("post", "/v1/conversations/{id}/bookings"),
    ("get", "/v1/conversations/{id}/schedule"),
    ("post", "/v1/bookings/{id}/reschedule"),
    ("post", "/v1/bookings/{id}/cancel"),
    ("get", "/v1/me/bookings"),
    ("get", "/v1/bookings/{id}/ics"),
    ("post", "/v1/me/calendar-feed"),
    ("get", "/v1/calls/ice"),
    ("get", "/v1/conversations/{id}/calls"),
    ("post", "/v1/admin/turn/selftest"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("get", "/v1/webhooks/event-types"),
    ("get", "/v1/webhooks/{id}"),
    ("patch", "/v1/webhooks/{id}"),
    ("delete", "/v1/webhooks/{id}"),
    ("post", "/v1/webhooks/{id}/disable"),
    ("post", "/v1/webhooks/{id}/rotate"),
    ("post", "/v1/webhooks/{id}/test"),
    ("get", "/v1/webhooks/{id}/deliveries"),
    ("post", "/v1/webhooks/{id}/replay"),
    ("get", "/v1/operator/events"),
];

/// The routes that authenticate in their handlers (tus, signed downloads, files; see
/// [`routes::self_authenticated`]), documented like the others.
pub const SELF_AUTHENTICATED_ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/uploads"),
    ("options", "/v1/uploads"),
    ("head", "/v1/uploads/{id}"),
    ("patch", "/v1/uploads/{id}"),
    ("delete", "/v1/uploads/{id}"),
    ("options", "/v1/uploads/{id}"),
    ("get", "/v1/conversations/{id}/files"),
    ("get", "/v1/files/{id}"),
    ("delete", "/v1/files/{id}"),
    ("get", "/v1/files/{id}/content"),
    ("get", "/v1/moderation/files"),
    ("post", "/v1/moderation/files/{id}/decision"),
];

/// The OpenAPI document, derived from the routers (see [`routes`]); built once.
pub fn openapi_document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let all = routes::router().merge(routes::self_authenticated());
        let doc = routes::docs::finish(all.into_openapi());
        serde_json::to_value(doc).unwrap_or_default()
    })
}

/// The HTTP application.
pub fn app(state: AppState) -> Router {
    let max_body = state.inner.config.max_body_bytes;
    let cors = cors_layer(&state.inner.config.cors_origins);
    let (router, _) = routes::router().split_for_parts();
    let router = router
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::before_handler,
        ))
        // Files and uploads authenticate in their handlers: tus answers OPTIONS without
        // credentials and a signed download link is its own credential.
        .merge(routes::self_authenticated().split_for_parts().0)
        // A calendar feed's token is its credential.
        .merge(routes::calendar::feed_router())
        .fallback(routes::fallback)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state);
    let router = match cors {
        Some(c) => router.layer(c),
        None => router,
    };
    router.layer(axum::middleware::from_fn(guard::security_headers))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
        ]);
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(Any));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(layer.allow_origin(AllowOrigin::list(list)))
}

/// Serves until `shutdown` completes (then finishes in-flight requests), with the timeouts
/// and the per-address connection cap of the configuration (see [`listen`]).
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "parley server listening");
    }
    let c = &state.inner.config;
    let opts = listen::ListenOptions {
        header_read_timeout: std::time::Duration::from_secs(c.header_read_timeout_secs),
        max_connections_per_ip: c.max_connections_per_ip,
    };
    listen::serve(listener, app(state), opts, shutdown).await
}
