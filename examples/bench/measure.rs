//! Timing many operations at a given concurrency: rates, percentiles, and the figure type
//! every scenario reports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One measured scenario.
#[derive(Clone)]
pub struct Figure {
    pub label: String,
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
    pub failed: usize,
    /// CPU time the bridge process spent per request (user + system), in µs: a figure the
    /// machine's other load barely moves.
    pub cpu_us: Option<f64>,
}

/// The latency at `per_mille` (500 = median) of sorted durations, in ms: the nearest rank.
pub fn percentile(sorted: &[Duration], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) * per_mille + 500) / 1000;
    sorted[i].as_secs_f64() * 1000.0
}

fn figure(label: String, n: usize, secs: f64, mut lat: Vec<Duration>, failed: usize) -> Figure {
    lat.sort();
    let f = Figure {
        label,
        rate: n as f64 / secs,
        p50: percentile(&lat, 500),
        p99: percentile(&lat, 990),
        failed,
        cpu_us: None,
    };
    println!(
        "{:<52} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({n}, {} failed)",
        f.label, f.rate, f.p50, f.p99, f.failed
    );
    f
}

/// Runs `n` operations on `workers` tasks, each built by `op(worker, i)`; `op` returns
/// whether it succeeded.
pub async fn measure<F, Fut>(label: &str, n: usize, workers: usize, op: F) -> Figure
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if !op(w, i).await {
                    bad += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, bad)
        }));
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, b) = t.await.unwrap();
        lat.extend(l);
        failed += b;
    }
    figure(
        label.to_string(),
        n,
        started.elapsed().as_secs_f64(),
        lat,
        failed,
    )
}

/// `measure` for blocking drivers: one thread and connection per worker.
pub async fn measure_blocking<C: 'static>(
    label: &str,
    n: usize,
    workers: usize,
    connect: impl Fn() -> C + Send + Sync + 'static,
    op: impl Fn(&mut C, usize) -> bool + Send + Sync + 'static,
) -> Figure {
    let label = label.to_string();
    tokio::task::spawn_blocking(move || {
        let (connect, op) = (Arc::new(connect), Arc::new(op));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (connect, op, next) = (connect.clone(), op.clone(), next.clone());
                std::thread::spawn(move || {
                    let mut c = connect();
                    let mut lat = Vec::new();
                    let mut bad = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let t = Instant::now();
                        if !op(&mut c, i) {
                            bad += 1;
                        }
                        lat.push(t.elapsed());
                    }
                    (lat, bad)
                })
            })
            .collect();
        let mut lat = Vec::new();
        let mut failed = 0;
        for h in handles {
            let (l, b) = h.join().unwrap();
            lat.extend(l);
            failed += b;
        }
        figure(label, n, started.elapsed().as_secs_f64(), lat, failed)
    })
    .await
    .unwrap()
}
