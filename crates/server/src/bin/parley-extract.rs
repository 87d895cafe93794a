//! The extractor alone (what `parley extract` runs), so the server's tests can start it
//! without the `parley` binary. See [`parley_extract::run_cli`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(parley_extract::run_cli(&args));
}
