//! Times text extraction (detect + extract, no chunking) over every file of a folder,
//! per format, best of `ROUNDS` runs of the whole folder:
//!
//!     cargo run -p lore-ingest --example extract_time -- ../shared/data/docs
//!
//! Used to measure what the hostile-input checks cost on real documents
//! (docs/benchmarks.md, "Hostile input").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/docs".into());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("a folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let data: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(p).unwrap_or_default())
        })
        .collect();
    let mut best: BTreeMap<String, Duration> = BTreeMap::new();
    for _ in 0..ROUNDS {
        let mut round: BTreeMap<String, Duration> = BTreeMap::new();
        for (name, bytes) in &data {
            let t = Instant::now();
            let format = match lore_ingest::parse(name, bytes) {
                Ok((f, _)) => f.as_str().to_string(),
                Err(_) => "failed".to_string(),
            };
            *round.entry(format).or_default() += t.elapsed();
        }
        for (k, v) in round {
            let e = best.entry(k).or_insert(v);
            *e = (*e).min(v);
        }
    }
    for (format, d) in &best {
        println!("{format:10} {:9.1} ms", d.as_secs_f64() * 1e3);
    }
    println!(
        "{:10} {:9.1} ms",
        "total",
        best.values().sum::<Duration>().as_secs_f64() * 1e3
    );
}
