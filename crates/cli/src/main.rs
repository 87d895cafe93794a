//! The `parley` command. Parsing and dispatch only; each command lives in its
//! own module.

mod args;
mod audit;
mod eval;
mod input;
mod policy;
mod scan;
mod serve;
mod turn;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Scan(a) => scan::run(a),
        args::Command::Eval(a) => eval::run(a),
        args::Command::Policy(c) => policy::run(c),
        args::Command::Serve(a) => serve::run(a, false),
        args::Command::Demo(a) => serve::run(a, true),
        args::Command::Audit(c) => audit::run(c),
        args::Command::Turn(c) => turn::run(c),
        args::Command::Extract(a) => Ok(extract(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `parley extract`: the extractor process (see `parley_extract::run_cli`).
fn extract(a: args::ExtractArgs) -> std::process::ExitCode {
    let mut v = vec![a.file, "--type".into(), a.declared];
    if let Some(n) = a.name {
        v.extend(["--name".into(), n]);
    }
    if let Some(m) = a.max_memory {
        v.extend(["--max-memory".into(), m.to_string()]);
    }
    if let Some(o) = a.ocr {
        v.extend(["--ocr".into(), o]);
    }
    v.extend(["--ocr-timeout".into(), a.ocr_timeout.to_string()]);
    std::process::ExitCode::from(u8::try_from(parley_extract::run_cli(&v)).unwrap_or(2))
}

/// Whether the error is a closed standard output (`parley scan | head`), which
/// is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
