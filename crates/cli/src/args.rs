//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Parley: keeps pre-contract conversations on the platform.
#[derive(Debug, Parser)]
#[command(name = "parley", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan texts for contact information and print the findings as JSON Lines.
    Scan(ScanArgs),
    /// Measure the detector on a labeled JSON Lines corpus.
    Eval(EvalArgs),
    /// Write out or check a policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the message center server.
    Serve(crate::serve::ServeArgs),
    /// Run the server with a demo marketplace (seeded only into an empty database).
    Demo(crate::serve::ServeArgs),
    /// Check the audit trail's hash chain, or an evidence export's digest.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The built-in TURN relay of a running server.
    #[command(subcommand)]
    Turn(TurnCommand),
    /// Extract a file's text, links and metadata as JSON (what the server runs, out of
    /// process, on every uploaded file).
    Extract(ExtractArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The file to read.
    pub file: String,
    /// The file's name as uploaded (default: the path's file name).
    #[arg(long)]
    pub name: Option<String>,
    /// The declared media type.
    #[arg(long = "type", default_value = "")]
    pub declared: String,
    /// Limit this process's address space, bytes.
    #[arg(long)]
    pub max_memory: Option<u64>,
    /// Read the text in pictures with this OCR program (`tesseract`); none: no OCR.
    #[arg(long)]
    pub ocr: Option<String>,
    /// Time limit of one OCR run, seconds (past it the file fails with `timeout`).
    #[arg(long, default_value_t = 10.0)]
    pub ocr_timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain: exit 0 with the count when intact, 1 naming the
    /// first bad entry (seq, kind, reason).
    Verify {
        /// Database URL: sqlite://FILE, postgres://... (migrations are applied first).
        #[arg(long, env = "PARLEY_DATABASE")]
        database: String,
    },
    /// Recompute the digest of an evidence export (JSON or printable HTML): exit 0 when it
    /// matches, 1 when not.
    VerifyExport {
        /// The exported file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TurnCommand {
    /// Ask a running server to allocate on its TURN relay and relay a packet (operator key):
    /// prints the report, exit 0 on pass, 1 on fail, within 5 s.
    Selftest {
        /// The server's base URL (plain http, e.g. http://127.0.0.1:8080).
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "PARLEY_URL")]
        url: String,
        /// The operator key.
        #[arg(long, env = "PARLEY_ADMIN_KEY", hide_env_values = true)]
        admin_key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the built-in default policy, with comments, as a TOML file.
    PrintDefault,
    /// Check a policy file and report every error with its line.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
}

/// The policy and the default context of the texts.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// The operator's policy file (TOML); the built-in default when absent.
    #[arg(long, env = "PARLEY_POLICY")]
    pub policy: Option<PathBuf>,
    /// Surface of texts that do not name one: profile, job_post, proposal,
    /// invite, message or attachment.
    #[arg(long, default_value = "message")]
    pub surface: parley_policy::Surface,
    /// Relationship stage of texts that do not name one: pre_contract,
    /// active_contract or ended_contract.
    #[arg(long, default_value = "pre_contract")]
    pub stage: parley_policy::Stage,
    /// The client organisation's plan (operator-defined names, e.g. basic, business).
    #[arg(long)]
    pub plan: Option<parley_policy::Plan>,
    /// A declared purpose: `scoping_access:SYSTEM` or `legal_document`.
    #[arg(long)]
    pub purpose: Option<parley_policy::Purpose>,
}

/// Options shared by the commands that run the detector.
#[derive(Debug, Args, Clone)]
pub struct DetectorArgs {
    /// Phone regions tried for numbers without a country code (ISO 3166-1
    /// alpha-2, comma-separated; the first is the default region).
    #[arg(long, value_delimiter = ',', env = "PARLEY_PHONE_REGIONS")]
    pub regions: Option<Vec<String>>,
    /// Languages of number and at/dot words (ISO 639-1, comma-separated).
    #[arg(long, value_delimiter = ',', env = "PARLEY_LANGUAGES")]
    pub languages: Option<Vec<String>>,
    /// Largest text accepted, in bytes; a longer one is reported as an error.
    #[arg(long, default_value_t = 1 << 20, env = "PARLEY_MAX_TEXT_BYTES")]
    pub max_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// JSON Lines files (`{"id", "text", "surface"?}` per line); `-` or none
    /// reads standard input.
    pub files: Vec<PathBuf>,
    /// Scan this one text instead of files.
    #[arg(long, conflicts_with = "files")]
    pub text: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub detector: DetectorArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A labeled JSON Lines corpus (`id`, `text`, `surface`, `violation`,
    /// `categories`, `tags`).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// List at most this many misses and false alarms (0: none).
    #[arg(long, default_value_t = 100)]
    pub show: usize,
    /// The operator's policy file (TOML); the built-in default when absent.
    #[arg(long, env = "PARLEY_POLICY")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub detector: DetectorArgs,
}

/// Reads the policy file, or the built-in default.
pub fn load_policy(path: Option<&std::path::Path>) -> anyhow::Result<parley_policy::Policy> {
    let Some(path) = path else {
        return Ok(parley_policy::Policy::default());
    };
    let src = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", path.display()))?;
    parley_policy::Policy::from_toml_str(&src)
        .map_err(|e| anyhow::anyhow!("invalid policy file {}:\n{e}", path.display()))
}

impl DetectorArgs {
    /// Builds the detector the policy and these options describe (the options win).
    pub fn build(&self, policy: &parley_policy::Policy) -> anyhow::Result<parley_detect::Detector> {
        let mut b = policy.detector_builder();
        if let Some(r) = &self.regions {
            b = b.regions(r.iter().cloned());
        }
        if let Some(l) = &self.languages {
            b = b.languages(l.iter().cloned());
        }
        Ok(b.build()?)
    }
}
