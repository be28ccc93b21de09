//! Client overhead of the teacher client (issue 6): requests per second
//! against a local zero-latency OpenAI-compatible server at
//! `--concurrency 256`, with and without the SQLite response cache, and
//! throughput against a fixed-latency server as concurrency grows (it
//! should scale linearly until the CPU saturates).
//!
//! The servers are the test suite's (`tests/it/teacher_server.rs`), on
//! 127.0.0.1, in their own runtime threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regime_teacher::{
    CachedAnswer, ClientConfig, RequestBody, ResponseCache, Sampling, TeacherClient,
};

#[path = "../tests/it/teacher_server.rs"]
#[expect(
    dead_code,
    clippy::unwrap_used,
    reason = "the test suite's servers (the bench uses the server, not the proxy); a bench that cannot bind 127.0.0.1 may panic"
)]
mod teacher_server;

const MODEL: &str = "bench";

fn bodies(n: usize) -> Vec<RequestBody> {
    let extra = serde_json::Map::new();
    (0..n)
        .map(|i| {
            let prompt =
                format!("Content to rewrite: sample number {i} asks what colour the shape is");
            RequestBody::new(MODEL, &prompt, &Sampling::default(), 0, 64, &extra)
        })
        .collect()
}

/// Sends every body through `client` with all of them in flight at once
/// (the client's semaphore bounds what reaches the wire); returns the time.
fn send_all(
    rt: &tokio::runtime::Runtime,
    client: &Arc<TeacherClient>,
    bodies: &Arc<Vec<RequestBody>>,
    cache: Option<&Arc<ResponseCache>>,
) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        let mut handles = Vec::with_capacity(bodies.len());
        for i in 0..bodies.len() {
            let (client, bodies, cache) = (Arc::clone(client), Arc::clone(bodies), cache.cloned());
            handles.push(tokio::spawn(async move {
                let body = &bodies[i];
                let answer = client.send(body).await.expect("answered");
                if let Some(cache) = cache {
                    cache
                        .put(
                            body.key(),
                            body.json(),
                            &CachedAnswer::Completed(answer.completion),
                            0,
                        )
                        .expect("cached");
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
    });
    start.elapsed()
}

fn client(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    concurrency: usize,
) -> Arc<TeacherClient> {
    let _guard = rt.enter();
    let mut config = ClientConfig::new(format!("http://{addr}"));
    config.concurrency = concurrency;
    Arc::new(TeacherClient::new(config).expect("client"))
}

fn overhead(c: &mut Criterion) {
    let server_rt = teacher_server::runtime();
    let fast = server_rt.block_on(teacher_server::start_server(teacher_server::ServerConfig {
        model: MODEL.into(),
        ..Default::default()
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let n = 4000;
    let bodies = Arc::new(bodies(n));
    let mut group = c.benchmark_group("teacher_client");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    let client_256 = client(&rt, fast, 256);
    group.bench_function("zero_latency/concurrency_256", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| send_all(&rt, &client_256, &bodies, None))
                .sum()
        });
    });
    let dir = tempfile::tempdir().expect("tempdir");
    group.bench_function("zero_latency/concurrency_256/with_cache", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|i| {
                    let cache = Arc::new(
                        ResponseCache::open(&dir.path().join(i.to_string())).expect("cache"),
                    );
                    send_all(&rt, &client_256, &bodies, Some(&cache))
                })
                .sum()
        });
    });
    group.finish();

    let slow = server_rt.block_on(teacher_server::start_server(teacher_server::ServerConfig {
        model: MODEL.into(),
        latency: Duration::from_millis(50),
        ..Default::default()
    }));
    let mut group = c.benchmark_group("teacher_client_latency_50ms");
    group.sample_size(10);
    for concurrency in [8usize, 32, 128] {
        // Enough requests for ≈ 10 rounds of the window.
        let n = concurrency * 10;
        let bodies = Arc::new(self::bodies(n));
        let client = client(&rt, slow, concurrency);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("concurrency_{concurrency}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| send_all(&rt, &client, &bodies, None))
                    .sum()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
