//! The bridge page's web server: the built page (`bridge/web/dist`) as static files, and
//! `/config.json`, which tells the page where the chains are (RPC URLs as a browser on this
//! machine reaches them, chain ids, contract addresses, rollup config), so nothing about a
//! particular devnet is compiled into the page.
//!
//! Small on purpose: HTTP/1.1, GET and HEAD only, a bounded number of connections, a time limit
//! on reading request headers, files only from below the page's directory (no `..`, no hidden
//! files, no symlinks leading out), and a content type for every file a Vite build emits.

use crate::cli::WebArgs;

use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::Bytes,
    header::{self, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    convert::Infallible,
    net::SocketAddr,
    path::{Component, Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};
use tracing::{debug, info, warn};

/// Most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest file served (a Vite bundle of the page is well under a megabyte).
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// A running web server.
#[derive(Debug)]
pub struct WebServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebServer {
    /// Stops accepting connections.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// What the page needs to know about the running devnet, from the node's own knowledge.
#[derive(Debug)]
pub struct PageConfig<'a> {
    /// The L1's JSON-RPC as a browser on this machine reaches it.
    pub l1_rpc_url: &'a str,
    /// The L2's JSON-RPC address.
    pub l2_rpc_addr: SocketAddr,
    /// The rollup's parameters.
    pub rollup: &'a crate::rollup::RollupConfig,
    /// The devnet's data directory (its `addresses.json` is passed on as written).
    pub datadir: &'a Path,
}

impl PageConfig<'_> {
    /// The body of `/config.json`.
    pub fn to_json(&self) -> serde_json::Value {
        let addresses = std::fs::read(self.datadir.join("addresses.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "l1": {
                "chainId": self.rollup.l1_chain_id,
                "rpcUrl": browser_url(self.l1_rpc_url),
            },
            "l2": {
                "chainId": self.rollup.l2_chain_id,
                "rpcUrl": browser_url(&format!("http://{}", self.l2_rpc_addr)),
            },
            "addresses": addresses,
            "rollup": self.rollup,
            // `op-node devnet` funds these accounts on both chains; the page offers them, marked
            // as devnet-only, to sign in the page without a wallet.
            "devnet": {
                "mnemonic": crate::chain::TEST_MNEMONIC,
                "accounts": 10,
            },
        })
    }
}

/// A URL a browser can use: a server bound to every interface (0.0.0.0 or ::) is reached on
/// loopback.
fn browser_url(url: &str) -> String {
    url.replacen("://0.0.0.0:", "://127.0.0.1:", 1)
        .replacen("://[::]:", "://[::1]:", 1)
}

/// Starts serving `args.web_dir` and `config` if the page is wanted and built. Returns `None`,
/// with a log line saying why, when it is switched off, the directory has no `index.html`, or
/// the port is taken: the page is a convenience, and a devnet without it is still a devnet (a
/// second node started from the repository root, a benchmark's node, keeps running).
pub async fn serve(args: &WebArgs, config: serde_json::Value) -> Option<WebServer> {
    if args.no_web {
        info!(target: "web", "bridge page switched off (--no-web)");
        return None;
    }
    let root = match std::fs::canonicalize(&args.web_dir) {
        Ok(root) if root.join("index.html").is_file() => root,
        _ => {
            warn!(target: "web", dir = %args.web_dir.display(), "bridge page not served: no index.html there; build it (scripts/devnet does: npm ci && npm run build in bridge/web) or pass --web-dir");
            return None;
        }
    };
    let addr = SocketAddr::new(args.web_addr, args.web_port);
    let bound = match TcpListener::bind(addr).await {
        Ok(listener) => listener.local_addr().map(|local| (listener, local)),
        Err(e) => Err(e),
    };
    let (listener, local) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            warn!(target: "web", %addr, error = %e, "bridge page not served: cannot listen there (another devnet?); pass --web-port 0 for a free port, or --no-web");
            return None;
        }
    };
    let site = Arc::new(Site {
        root,
        config: Bytes::from(serde_json::to_vec_pretty(&config).expect("json values serialize")),
    });
    info!(target: "web", url = %format!("http://{local}"), dir = %site.root.display(), "bridge page listening");
    let task = tokio::spawn(accept_loop(listener, site));
    Some(WebServer { addr: local, task })
}

struct Site {
    root: PathBuf,
    config: Bytes,
}

async fn accept_loop(listener: TcpListener, site: Arc<Site>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                debug!(target: "web", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let site = site.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let site = site.clone();
                async move { Ok::<_, Infallible>(site.respond(&req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                debug!(target: "web", %peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
}

impl Site {
    async fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let path = req.uri().path();
        let mut res = if path == "/config.json" {
            let mut res = body(self.config.clone(), "application/json");
            // Readable by a page served elsewhere (e.g. Vite's dev server).
            res.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            res
        } else {
            match resolve(path) {
                Some(relative) => self.file(&relative).await,
                None => plain(StatusCode::NOT_FOUND, "not found\n"),
            }
        };
        let headers = res.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        if head {
            let len = res.headers().get(header::CONTENT_LENGTH).cloned();
            *res.body_mut() = Full::new(Bytes::new());
            if let Some(len) = len {
                res.headers_mut().insert(header::CONTENT_LENGTH, len);
            }
        }
        res
    }

    async fn file(&self, relative: &Path) -> Response<Full<Bytes>> {
        let candidate = self.root.join(relative);
        // Symlinks inside the directory may not lead out of it.
        let Ok(real) = tokio::fs::canonicalize(&candidate).await else {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        };
        if !real.starts_with(&self.root) {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        }
        let real = if real.is_dir() {
            real.join("index.html")
        } else {
            real
        };
        match tokio::fs::metadata(&real).await {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_FILE_BYTES => {}
            _ => return plain(StatusCode::NOT_FOUND, "not found\n"),
        }
        match tokio::fs::read(&real).await {
            Ok(bytes) => {
                let mut res = body(Bytes::from(bytes), content_type(&real));
                // Vite names everything under assets/ by its content hash.
                if relative.starts_with("assets") {
                    res.headers_mut().insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=31536000, immutable"),
                    );
                }
                res
            }
            Err(_) => plain(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

/// The file a request path names, relative to the page's directory, or `None` for a path that
/// could leave it (`..`, backslashes, NUL), names a hidden file, or is not valid percent-encoding.
fn resolve(path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path)?;
    if !decoded.starts_with('/') || decoded.contains('\\') || decoded.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            return None;
        }
        match Path::new(segment).components().next() {
            Some(Component::Normal(_)) => out.push(segment),
            _ => return None,
        }
    }
    if out.as_os_str().is_empty() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn body(bytes: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let len = bytes.len();
    let mut res = Response::new(Full::new(bytes));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    res
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut res = body(
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    );
    *res.status_mut() = status;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(resolve("/"), Some(PathBuf::from("index.html")));
        assert_eq!(
            resolve("/assets/index-abc.js"),
            Some(PathBuf::from("assets/index-abc.js"))
        );
        assert_eq!(resolve("//a//b"), Some(PathBuf::from("a/b")));
        assert_eq!(resolve("/../etc/passwd"), None);
        assert_eq!(resolve("/assets/../../x"), None);
        assert_eq!(resolve("/%2e%2e/x"), None);
        assert_eq!(resolve("/a%2f..%2fb"), None);
        assert_eq!(resolve("/a%5c..%5cb"), None);
        assert_eq!(resolve("/.env"), None);
        assert_eq!(resolve("/a%00b"), None);
        assert_eq!(resolve("/%zz"), None);
        assert_eq!(resolve("/%e2%82"), None);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("assets/a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.bin")), "application/octet-stream");
    }

    #[test]
    fn browser_urls() {
        assert_eq!(browser_url("http://0.0.0.0:8545"), "http://127.0.0.1:8545");
        assert_eq!(browser_url("http://[::]:8545"), "http://[::1]:8545");
        assert_eq!(
            browser_url("http://127.0.0.1:9545"),
            "http://127.0.0.1:9545"
        );
    }
}
