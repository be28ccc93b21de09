//! Real HTTP peers for the teacher tests and benches, on 127.0.0.1 only:
//! a deterministic OpenAI-compatible server (answers are a pure function of
//! the prompt, so runs can be compared byte for byte) and a fault-injecting
//! proxy that logs every request it sees. Both speak HTTP/1.1 over raw tokio
//! sockets, so faults can break the protocol the way real networks do:
//! stalls, connections reset mid-body, truncated JSON.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    pub(crate) close: bool,
    pub(crate) body: Vec<u8>,
}

/// Reads one HTTP/1.1 request (`Content-Length` bodies only, as clients
/// send for JSON); `None` at end of stream.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let method = first.next()?.to_owned();
            let path = first.next()?.to_owned();
            let mut length = 0usize;
            let mut authorization = None;
            let mut close = false;
            for line in lines {
                let (name, value) = line.split_once(':')?;
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().ok()?;
                } else if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.to_owned());
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                }
            }
            let start = end + 4;
            while buf.len() < start + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[start..start + length].to_vec();
            buf.drain(..start + length);
            return Some(Request {
                method,
                path,
                authorization,
                close,
                body,
            });
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A complete HTTP response.
fn response(status: u16, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The text the rewrite prompt wraps (after the template's last line).
pub(crate) fn prompt_text(prompt: &str) -> &str {
    for marker in ["Content to rewrite: ", "需要改写的内容："] {
        if let Some(i) = prompt.rfind(marker) {
            return &prompt[i + marker.len()..];
        }
    }
    prompt
}

/// The deterministic "simplification": every word longer than five letters
/// becomes `thing`, so the rewritten corpus has fewer, more frequent types.
pub(crate) fn simplify(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            if w.chars().filter(|c| c.is_alphabetic()).count() > 5 {
                "thing"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chat completion the deterministic server answers for `body`.
pub(crate) fn deterministic_completion(body: &Value) -> Value {
    let prompt = body["messages"][0]["content"].as_str().unwrap_or_default();
    let rewrite = simplify(prompt_text(prompt));
    let content = format!("<output>\n{rewrite}\n</output>");
    let words = |s: &str| s.split_whitespace().count() as u64;
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words(prompt), "completion_tokens": words(&content), "total_tokens": words(prompt) + words(&content)}
    })
}

/// Settings of the deterministic server.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerConfig {
    /// The model it serves.
    pub(crate) model: String,
    /// Required `Authorization` header value, if any.
    pub(crate) bearer: Option<String>,
    /// Delay before each completion.
    pub(crate) latency: Duration,
}

/// Starts the deterministic server on 127.0.0.1 (an ephemeral port) in the
/// current tokio runtime.
pub(crate) async fn start_server(config: ServerConfig) -> SocketAddr {
    start_stoppable_server(config).await.addr
}

/// A running server that the test can take down.
pub(crate) struct ServerHandle {
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
}

impl ServerHandle {
    /// Stops the server as a crash would: the port closes (connections
    /// are refused) and open connections drop, answered or not.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Resolves once [`ServerHandle::stop`] is called; never when the handle
/// is dropped without stopping (a server from [`start_server`] lives as
/// long as the runtime).
async fn stop_signal(stopped: &mut tokio::sync::watch::Receiver<bool>) {
    if stopped.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// [`start_server`], returning a handle that can stop it.
pub(crate) async fn start_stoppable_server(config: ServerConfig) -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Arc::new(config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut stop_accepting = stopped.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = stop_signal(&mut stop_accepting) => break,
            };
            let Ok((mut stream, _)) = accepted else {
                break;
            };
            let config = Arc::clone(&config);
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let connection = async {
                    let mut buf = Vec::new();
                    while let Some(request) = read_request(&mut stream, &mut buf).await {
                        let reply = serve(&config, &request).await;
                        if stream.write_all(&reply).await.is_err() || request.close {
                            break;
                        }
                    }
                };
                tokio::select! {
                    () = connection => {}
                    () = stop_signal(&mut stopped) => {}
                }
            });
        }
    });
    ServerHandle { addr, stop }
}

async fn serve(config: &ServerConfig, request: &Request) -> Vec<u8> {
    if let Some(expected) = &config.bearer
        && request.authorization.as_deref() != Some(expected.as_str())
    {
        return response(401, "", br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#);
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/models") => {
            let body = json!({"object": "list", "data": [{"id": config.model, "object": "model", "max_model_len": 8192}]});
            response(200, "", body.to_string().as_bytes())
        }
        ("POST", "/v1/chat/completions") => {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return response(400, "", br#"{"error":{"message":"bad json"}}"#);
            };
            if body["model"] != config.model.as_str() {
                return response(
                    404,
                    "",
                    br#"{"error":{"message":"The model does not exist."}}"#,
                );
            }
            if !config.latency.is_zero() {
                tokio::time::sleep(config.latency).await;
            }
            response(
                200,
                "",
                deterministic_completion(&body).to_string().as_bytes(),
            )
        }
        _ => response(404, "", br#"{"detail":"Not Found"}"#),
    }
}

/// A fault the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Fault {
    /// 429 with `Retry-After: 1`.
    RateLimited,
    /// 500 in the nested error shape.
    Internal,
    /// 503 in the flat error shape.
    Unavailable,
    /// No answer until long past the client's timeout.
    Stall,
    /// Headers and half the body, then a TCP reset.
    Reset,
    /// A 200 whose JSON body is cut short.
    Truncated,
    /// A well-formed completion without `<output>` tags.
    NoTags,
    /// A completion cut at `max_tokens` (`finish_reason: length`).
    Length,
}

impl Fault {
    /// Every fault, in the order of the proxy's cycle.
    pub(crate) const ALL: [Self; 8] = [
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
        Self::Stall,
        Self::Reset,
        Self::Truncated,
        Self::NoTags,
        Self::Length,
    ];
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    /// xxh3-128 of the request body (the client's cache key).
    pub(crate) key: u128,
    /// The injected fault, if any.
    pub(crate) fault: Option<Fault>,
    /// `usage` of the completion returned to the client, if one was.
    pub(crate) usage: Option<(u64, u64)>,
    /// Whether a complete response was written back.
    pub(crate) completed: bool,
}

/// A fault-injecting, logging proxy for `/v1/chat/completions` (other paths
/// pass through untouched).
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    pub(crate) log: Arc<Mutex<Vec<LogEntry>>>,
    /// While set, every completion request stalls forever.
    pub(crate) frozen: Arc<AtomicBool>,
}

/// What the proxy does: `faults[n % len]` for the n-th completion request
/// (`None` passes it through), and how long a stall lasts.
#[derive(Debug, Clone)]
pub(crate) struct ProxyConfig {
    pub(crate) upstream: SocketAddr,
    pub(crate) faults: Vec<Option<Fault>>,
    pub(crate) stall: Duration,
    /// Freeze after this many completed answers.
    pub(crate) freeze_after: Option<u64>,
}

/// Forwards one request to `upstream` on a fresh connection and returns
/// the raw response bytes and its parsed JSON body.
async fn forward(upstream: SocketAddr, request: &Request) -> Option<(Vec<u8>, Option<Value>)> {
    let mut stream = TcpStream::connect(upstream).await.ok()?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {upstream}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        request.method,
        request.path,
        request.body.len()
    );
    if let Some(auth) = &request.authorization {
        head.push_str("authorization: ");
        head.push_str(auth);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(&request.body).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    let json = serde_json::from_slice(&body).ok();
    Some((response(status, "", &body), json))
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

fn completion_with(content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    })
}

fn usage_of(body: &Value) -> Option<(u64, u64)> {
    Some((
        body["usage"]["prompt_tokens"].as_u64()?,
        body["usage"]["completion_tokens"].as_u64()?,
    ))
}

/// Starts the proxy on 127.0.0.1 in the current tokio runtime.
#[expect(clippy::too_many_lines, reason = "one match over every fault")]
pub(crate) async fn start_proxy(config: ProxyConfig) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let completed = Arc::new(AtomicU64::new(0));
    let frozen = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let config = Arc::new(config);
    {
        let (log, completed, frozen) = (
            Arc::clone(&log),
            Arc::clone(&completed),
            Arc::clone(&frozen),
        );
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    break;
                };
                let (log, completed, frozen, counter, config) = (
                    Arc::clone(&log),
                    Arc::clone(&completed),
                    Arc::clone(&frozen),
                    Arc::clone(&counter),
                    Arc::clone(&config),
                );
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let mut buf = Vec::new();
                    while let Some(request) = read_request(&mut stream, &mut buf).await {
                        if request.path != "/v1/chat/completions" {
                            let Some((raw, _)) = forward(config.upstream, &request).await else {
                                return;
                            };
                            if stream.write_all(&raw).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        if frozen.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_hours(1)).await;
                            return;
                        }
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let fault = if config.faults.is_empty() {
                            None
                        } else {
                            config.faults[usize::try_from(n).unwrap() % config.faults.len()]
                        };
                        let key = xxhash_rust::xxh3::xxh3_128(&request.body);
                        let mut entry = LogEntry {
                            key,
                            fault,
                            usage: None,
                            completed: false,
                        };
                        let reply: Option<Vec<u8>> = match fault {
                            Some(Fault::RateLimited) => Some(response(429, "retry-after: 1\r\n", br#"{"error":{"message":"rate limited","type":"rate_limit_error"}}"#)),
                            Some(Fault::Internal) => Some(response(500, "", br#"{"error":{"message":"injected 500","type":"server_error","code":500}}"#)),
                            Some(Fault::Unavailable) => Some(response(503, "", br#"{"object":"error","message":"injected 503","type":"ServiceUnavailable","code":503}"#)),
                            Some(Fault::Stall) => {
                                // Logged now: the client has given up (and
                                // the test read the log) long before the
                                // stall ends.
                                log.lock().unwrap().push(entry);
                                tokio::time::sleep(config.stall).await;
                                return;
                            }
                            Some(Fault::Reset) => {
                                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"choices\":[{\"message\":";
                                let _ = stream.write_all(head).await;
                                let _ = stream.flush().await;
                                let _ = stream.set_zero_linger();
                                None
                            }
                            Some(Fault::Truncated) => Some(response(200, "", br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"<output>half"#)),
                            Some(Fault::NoTags) => {
                                let body = completion_with("Sure! Here is the simpler text.", "stop");
                                entry.usage = usage_of(&body);
                                Some(response(200, "", body.to_string().as_bytes()))
                            }
                            Some(Fault::Length) => {
                                let body = completion_with("<output>\nThe text was cut", "length");
                                entry.usage = usage_of(&body);
                                Some(response(200, "", body.to_string().as_bytes()))
                            }
                            None => match forward(config.upstream, &request).await {
                                Some((raw, json)) => {
                                    entry.usage = json.as_ref().and_then(usage_of);
                                    Some(raw)
                                }
                                None => None,
                            },
                        };
                        let Some(reply) = reply else {
                            log.lock().unwrap().push(entry);
                            return;
                        };
                        let ok = stream.write_all(&reply).await.is_ok();
                        entry.completed = ok;
                        log.lock().unwrap().push(entry);
                        if ok && entry_is_answer(fault) {
                            let done = completed.fetch_add(1, Ordering::SeqCst) + 1;
                            if config.freeze_after.is_some_and(|limit| done >= limit) {
                                frozen.store(true, Ordering::SeqCst);
                            }
                        }
                        if !ok {
                            return;
                        }
                    }
                });
            }
        });
    }
    Proxy { addr, log, frozen }
}

/// Whether a request with this fault got a usable chat completion.
fn entry_is_answer(fault: Option<Fault>) -> bool {
    matches!(fault, None | Some(Fault::NoTags | Fault::Length))
}

/// The deterministic server serving `model`, behind a proxy that injects
/// nothing and logs every request.
pub(crate) async fn start_logged_server(model: &str) -> Proxy {
    let upstream = start_server(ServerConfig {
        model: model.into(),
        ..ServerConfig::default()
    })
    .await;
    start_proxy(ProxyConfig {
        upstream,
        faults: Vec::new(),
        stall: Duration::ZERO,
        freeze_after: None,
    })
    .await
}

/// A tokio runtime for a test's servers, on its own threads.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
