//! Lists the migrations of each engine from their folders, so that adding
//! one is adding its file (`NNNN_name.sql`, numbered from 1 without gaps).

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn list(name: &str, vis: &str, dir: &str, out: &mut String) -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={dir}");
    let mut files: Vec<(i64, String)> = fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(Result::ok)
        .filter_map(|f| {
            let file = f.file_name().into_string().ok()?;
            let version = file.strip_suffix(".sql")?.split('_').next()?.parse().ok()?;
            Some((version, file))
        })
        .collect();
    files.sort();
    for (i, (version, file)) in files.iter().enumerate() {
        if *version != i as i64 + 1 {
            return Err(format!("{dir}: {file} is out of sequence").into());
        }
    }
    let root = env::var("CARGO_MANIFEST_DIR")?;
    writeln!(out, "{vis} const {name}: &[(i64, &str)] = &[")?;
    for (version, file) in files {
        let path = Path::new(&root).join(dir).join(file);
        writeln!(out, "    ({version}, include_str!({:?})),", path.display().to_string())?;
    }
    writeln!(out, "];")?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut sqlite = String::new();
    list("MAIN", "pub(super)", "src/sqlite/migrations", &mut sqlite)?;
    list("ROLLUPS", "pub(super)", "src/sqlite/rollup_migrations", &mut sqlite)?;
    let mut postgres = String::new();
    list("MIGRATIONS", "pub", "src/postgres/migrations", &mut postgres)?;
    let out = env::var("OUT_DIR")?;
    fs::write(Path::new(&out).join("sqlite_migrations.rs"), sqlite)?;
    fs::write(Path::new(&out).join("postgres_migrations.rs"), postgres)?;
    Ok(())
}
