//! `parley serve` and `parley demo`: the message center server.
//!
//! Configuration layers: defaults, `--config FILE` (TOML), `PARLEY_*` environment variables
//! (`PARLEY_ADMIN_KEY`, `PARLEY_DATABASE`, `PARLEY_LISTEN`...), then these flags.

use anyhow::{Context, Result};
use clap::Args;
use parley_server::{AppState, Config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// A TOML configuration file (keys: listen, database, admin_key, policy, cors_origins, limits).
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Database URL: sqlite://FILE (default sqlite://parley.db), sqlite::memory:, postgres://...
    #[arg(long)]
    pub database: Option<String>,
    /// The operator's policy file (TOML); a bad file stops the start with its line and reason.
    #[arg(long)]
    pub policy: Option<String>,
    /// Allowed CORS origin (repeat for several; `*` for any).
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Where the built-in TURN relay listens (UDP; default port 3478 on the host of --listen).
    #[arg(long = "turn-listen")]
    pub turn_listen: Option<String>,
    /// No built-in TURN relay (calls then connect directly, or through calls.turn_urls).
    #[arg(long = "no-turn")]
    pub no_turn: bool,
    /// NATS server URL for several nodes (`nats://127.0.0.1:4222`; `PARLEY_NATS_URL`). Without
    /// it this node delivers to its own sockets only (see docs/deploy.md).
    #[arg(long)]
    pub nats: Option<String>,
}

fn config(a: &ServeArgs, demo: bool) -> Result<Config> {
    let mut c = Config::load(a.config.as_deref())?;
    if demo && c.database == Config::default().database && a.database.is_none() {
        c.database = "sqlite://parley-demo.db".into();
    }
    if let Some(v) = &a.listen {
        c.listen = v.clone();
    }
    if let Some(v) = &a.database {
        c.database = v.clone();
    }
    if let Some(v) = &a.policy {
        c.policy = Some(v.clone());
    }
    if !a.cors_origins.is_empty() {
        c.cors_origins = a.cors_origins.clone();
    }
    if let Some(v) = &a.turn_listen {
        c.calls.turn_listen = v.clone();
    }
    if a.no_turn {
        c.calls.turn_enabled = false;
    }
    if let Some(v) = &a.nats {
        c.set("nats_url", v)?;
    }
    // Demo sign-in (`/v1/demo/*`) exists only under `parley demo`.
    c.demo = demo;
    Ok(c)
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
        // The TURN crate logs peer addresses: kept out of the logs (calls log no addresses).
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,turn=off,webrtc_util=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(a: ServeArgs, demo: bool) -> Result<ExitCode> {
    init_logs();
    // Every WebSocket is a file descriptor: the usual soft limit (1024) would cap the sockets.
    // (Logged by the call; a failure leaves the limit as it was.)
    let _ = parley_server::raise_open_files_limit();
    let c = config(&a, demo)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve(c, demo))
}

async fn serve(c: Config, demo: bool) -> Result<ExitCode> {
    let listen = c.listen.clone();
    let has_key = c.admin_key.is_some();
    let state = AppState::new(c).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let turn_on = state.inner.config.calls.turn_enabled && state.inner.config.calls.enabled;
    // The built-in TURN relay; one that cannot start is reported and calls go without it.
    let _relay = if turn_on {
        let started = match parley_server::turn_relay::listen_addr(&state) {
            Ok(at) => parley_server::turn_relay::start(&state, at).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(r) => {
                println!("TURN relay for calls at {} (UDP)", r.url());
                Some(r)
            }
            Err(e) => {
                eprintln!("parley: {e}; calls connect without the built-in relay (--turn-listen ADDR to move it, --no-turn to turn it off)");
                None
            }
        }
    } else {
        None
    };
    if demo {
        let seeded = parley_server::demo::seed(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the demo: {e}"))?;
        let ours = parley_server::demo::created_by_demo(&state)
            .await
            .map_err(|e| anyhow::anyhow!("reading the audit trail: {e}"))?;
        if !ours {
            anyhow::bail!(
                "this database was not created by `parley demo` (demo sign-in would hand out its users' tokens): \
                 use `parley serve` for it, or give `parley demo` a new --database"
            );
        }
        println!("Parley demo at {url}  (open it in a browser and pick a person; API page: {url}/v1/docs)");
        println!(
            "{}",
            if seeded {
                "Demo marketplace created: Northwind Labs (basic), Contoso Enterprise (enterprise)."
            } else {
                "Database not empty: the demo data was left as it is."
            }
        );
        println!("Sign in: send one of these tokens as `Authorization: Bearer TOKEN` (or ?token= on /v1/ws):");
        let week = parley_store::now_ms() + 7 * 24 * 3600 * 1000;
        for (id, name, ..) in parley_server::demo::USERS {
            match state.store().create_token(id, week, Some("demo")).await {
                Ok(t) => println!("  {name:<16} {id:<7} {}", t.token),
                Err(e) => println!("  {name:<16} {id:<7} (no token: {e})"),
            }
        }
        println!("Try: curl -H 'Authorization: Bearer TOKEN' {url}/v1/conversations");
    } else {
        println!("Parley listening on {url}");
    }
    if !has_key {
        println!(
            "Integration API disabled: set PARLEY_ADMIN_KEY (or admin_key in the config file)."
        );
    }
    parley_server::run(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
