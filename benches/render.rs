//! Criterion benchmarks for the render and process paths.
//!
//! ```text
//! cargo bench --bench render
//! ```
//!
//! - `render/plain-1000`: `render_path` of the plain workload of `../shared/bench/workload.py`
//!   at 1,000 objects (what `kascade render DIR` does, without printing).
//! - `parse/plain-1000`: `yaml::parse_documents` alone over the same files' bytes, one file
//!   after another on one thread.
//! - `process/base-image-example`: `openshift::process` of the built-in seed template with a
//!   seeded RNG (load excluded), and `load+process`.
//!
//! The workload benches need `python3` and `../shared/bench/workload.py` beside the crate;
//! without them they are skipped with a message. Wall-clock numbers on a shared 2-core machine
//! are noisy: compare runs on the same machine only. End-to-end numbers against
//! `kubectl kustomize` come from `scripts/bench-render.sh`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kascade::resource::yaml;
use kascade::template::catalog;
use kascade::template::openshift::{self, Template};
use kascade::template::render::{RenderOptions, render_path};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Objects in the plain workload.
const OBJECTS: usize = 1_000;

/// A generated workload directory; removed on drop.
struct Workload {
    dir: tempfile::TempDir,
}

impl Workload {
    /// Generates the plain workload, or says why it cannot and returns `None`.
    fn plain(objects: usize) -> Option<Workload> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/workload.py");
        if !script.is_file() {
            eprintln!(
                "skipping workload benches: {} not found (the shared bench scripts live beside the crate)",
                script.display()
            );
            return None;
        }
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("skipping workload benches: cannot create a temp dir: {e}");
                return None;
            }
        };
        let status = Command::new("python3")
            .arg(&script)
            .arg("plain")
            .arg(dir.path())
            .arg("--objects")
            .arg(objects.to_string())
            .status();
        match status {
            Ok(s) if s.success() => Some(Workload { dir }),
            Ok(s) => {
                eprintln!("skipping workload benches: workload.py failed ({s})");
                None
            }
            Err(e) => {
                eprintln!("skipping workload benches: cannot run python3: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The manifest files with their bytes, in name order.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.path().join("manifests"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
            .collect()
    }
}

fn workload_benches(c: &mut Criterion) {
    let Some(workload) = Workload::plain(OBJECTS) else {
        return;
    };
    let options = RenderOptions {
        seed: Some(1),
        ..Default::default()
    };
    // Check the input once, outside the timing, so a broken workload fails loudly.
    let rendered = render_path(workload.path(), &options);
    match &rendered {
        Ok(out) if out.set.len() == OBJECTS => {}
        Ok(out) => panic!("rendered {} objects, expected {OBJECTS}", out.set.len()),
        Err(e) => panic!("render failed: {e}"),
    }
    let files = workload.files();
    let bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();

    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.bench_function("plain-1000", |b| {
        b.iter(|| render_path(black_box(workload.path()), black_box(&options)));
    });
    group.finish();

    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let mut group = c.benchmark_group("parse");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("plain-1000", |b| {
        b.iter(|| {
            let mut docs = 0;
            for ((_, data), name) in files.iter().zip(&names) {
                if let Ok(parsed) = yaml::parse_documents(black_box(data), name) {
                    docs += parsed.len();
                }
            }
            black_box(docs)
        });
    });
    group.finish();
}

/// The built-in seed template, with GIT_URL given (it is required).
fn seed_template() -> (Vec<u8>, String) {
    let entry = match catalog::find("base-image-example", &[]) {
        Ok(entry) => entry,
        Err(e) => panic!("built-in template missing: {e}"),
    };
    match entry.bytes() {
        Ok(bytes) => (bytes, entry.source_name()),
        Err(e) => panic!("built-in template unreadable: {e}"),
    }
}

const GIT_URL: &str = "https://example.com/x.git";

fn process_benches(c: &mut Criterion) {
    let (bytes, source) = seed_template();
    let mut template = match Template::from_bytes(&bytes, &source) {
        Ok(t) => t,
        Err(e) => panic!("built-in template does not load: {e}"),
    };
    assert!(
        template.set_parameter("GIT_URL", GIT_URL),
        "base-image-example has no GIT_URL parameter"
    );
    if let Err(e) = openshift::process(&template, &mut StdRng::seed_from_u64(1)) {
        panic!("base-image-example does not process: {e}");
    }

    let mut group = c.benchmark_group("process");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("base-image-example", |b| {
        let mut rng = StdRng::seed_from_u64(1);
        b.iter(|| openshift::process(black_box(&template), &mut rng));
    });
    group.bench_function("base-image-example/load+process", |b| {
        let mut rng = StdRng::seed_from_u64(1);
        b.iter(|| {
            let mut t = Template::from_bytes(black_box(&bytes), &source).ok()?;
            t.set_parameter("GIT_URL", GIT_URL);
            openshift::process(&t, &mut rng).ok()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = workload_benches, process_benches
}
criterion_main!(benches);
