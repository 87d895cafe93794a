//! `parley policy`: print the default policy file, or check one.

use crate::args::PolicyCommand;
use std::process::ExitCode;

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::PrintDefault => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(parley_policy::DEFAULT_POLICY_TOML.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Check { file } => {
            let src = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            match parley_policy::Policy::from_toml_str(&src) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    for p in &e.problems {
                        eprintln!("{}:{}:{}: {}", file.display(), p.line, p.column, p.reason);
                    }
                    eprintln!("{}: {} problem(s)", file.display(), e.problems.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
