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
    /// Surface of texts that do not name one.
    #[arg(long, default_value = "message")]
    pub surface: String,
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
    #[command(flatten)]
    pub detector: DetectorArgs,
}

impl DetectorArgs {
    /// Builds the detector these options describe.
    pub fn build(&self) -> anyhow::Result<parley_detect::Detector> {
        let mut b = parley_detect::Detector::builder();
        if let Some(r) = &self.regions {
            b = b.regions(r.iter().cloned());
        }
        if let Some(l) = &self.languages {
            b = b.languages(l.iter().cloned());
        }
        Ok(b.build()?)
    }
}
