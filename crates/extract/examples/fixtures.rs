//! Writes the fixture set (files with contact details in every place they hide, and clean
//! ones) into a directory, built here with `lopdf` and `zip` (nothing downloaded):
//! `cargo run -p parley-extract --example fixtures -- DIR`. The same set is checked by
//! `tests/fixtures.rs` (recall and false alarms).

#[path = "../tests/fixtures/build.rs"]
mod build;

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "fixtures".into());
    std::fs::create_dir_all(&dir)?;
    for f in build::all() {
        let sub = if f.contact { "contact" } else { "clean" };
        std::fs::create_dir_all(format!("{dir}/{sub}"))?;
        std::fs::write(format!("{dir}/{sub}/{}", f.name), &f.bytes)?;
    }
    println!("wrote {} files to {dir}", build::all().len());
    Ok(())
}
