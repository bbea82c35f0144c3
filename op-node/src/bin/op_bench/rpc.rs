//! A small JSON-RPC client: one HTTP/1.1 keep-alive connection (hyper), single calls and
//! batches whose bodies are serialized before the clock starts.

use super::BenchError;
use alloy::primitives::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Request,
    body::Bytes as Body,
    client::conn::http1::{self, SendRequest},
    header::{CONTENT_TYPE, HOST},
};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// One connection to the node.
#[derive(Debug)]
pub struct RpcClient {
    host: String,
    sender: SendRequest<Full<Body>>,
}

/// One response of a call or a batch.
#[derive(Debug, Deserialize)]
pub struct Response {
    /// The result, when the call succeeded.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error, when it failed.
    #[serde(default)]
    pub error: Option<Value>,
}

impl RpcClient {
    /// Connects to the node at `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Self, BenchError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the node goes away; requests then fail.
            let _ = connection.await;
        });
        Ok(Self {
            host: addr.to_string(),
            sender,
        })
    }

    /// POSTs a JSON body and returns the response body.
    pub async fn post(&mut self, body: Body) -> Result<Body, BenchError> {
        self.sender.ready().await?;
        let request = Request::post("/")
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(BenchError::Rpc {
                method: "HTTP".into(),
                message: format!("{status}: {}", String::from_utf8_lossy(&body)),
            });
        }
        Ok(body)
    }

    /// Calls `method` and decodes its result.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<T, BenchError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response: Response =
            serde_json::from_slice(&self.post(body.to_string().into()).await?)?;
        match response {
            Response {
                error: Some(error), ..
            } => Err(BenchError::Rpc {
                method: method.into(),
                message: error.to_string(),
            }),
            Response { result, .. } => Ok(serde_json::from_value(result.unwrap_or(Value::Null))?),
        }
    }

    /// Sends a pre-serialized batch and returns its responses.
    pub async fn batch(&mut self, body: Body) -> Result<Vec<Response>, BenchError> {
        Ok(serde_json::from_slice(&self.post(body).await?)?)
    }
}

/// The body of one `eth_sendRawTransaction` batch.
pub fn send_raw_batch(txs: &[Bytes]) -> Body {
    let calls: Vec<Value> = txs
        .iter()
        .enumerate()
        .map(|(id, tx)| {
            json!({"jsonrpc": "2.0", "id": id, "method": "eth_sendRawTransaction", "params": [tx]})
        })
        .collect();
    Value::Array(calls).to_string().into()
}
