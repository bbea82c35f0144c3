//! Batches of `eth_sendRawTransaction`: the node's ingress.
//!
//! jsonrpsee runs a batch's calls one after another, and a blocking method's call is a task on
//! tokio's blocking pool: a batch of 500 raw transactions was 500 thread hand-offs, each
//! recovering one sender, and each opened its own state snapshot. This RPC middleware takes
//! each run of consecutive `eth_sendRawTransaction` calls in a batch as one job on the
//! blocking pool: senders recovered on a pool of one thread per core a chunk at a time, each
//! chunk admitted in order against one shared snapshot ([`eth::Admission`]). The recovery
//! threads run at a lower priority ([`RECOVERY_NICE`] nicer) than the block thread: when
//! clients send more than the cores can recover, ingress slows down, not the blocks (whose
//! timely ticks bound the inclusion latency of everything already admitted).
//!
//! What a client sees is unchanged: one response per call, in order, each the method's own
//! answer (the same parameter errors, pool errors and messages), other calls served by the
//! method itself, and the response-size bound of the batch. One difference a client cannot
//! observe: when a batch's response outgrows the bound, jsonrpsee stops at that call, while
//! the rest of a run whose responses come after it has already been admitted.

use super::{MethodResult, RpcCtx, RpcError, eth, one};
use crate::{block::RecoveredTx, txpool::decode_and_recover};
use alloy::primitives::{B256, Bytes};
use jsonrpsee::{
    IntoResponse,
    core::{
        middleware::{Batch, BatchEntry, Notification, Request, RpcServiceT},
        server::{BatchResponseBuilder, MethodResponse},
    },
    types::{ErrorCode, ErrorObject, Params},
};
use rayon::prelude::*;
use std::sync::{Arc, LazyLock};

/// The method whose runs this middleware takes.
const SEND_RAW: &str = "eth_sendRawTransaction";

/// Transactions recovered together before they are admitted: large enough that splitting the
/// work over the rayon pool costs little (one recovery is ~30 µs), small enough that a batch
/// of 500 enters the pool in steps of ~1 ms rather than all at its end.
const RECOVERY_CHUNK: usize = 64;

/// How much nicer than the rest of the node the recovery threads run (at most nice 19).
/// Under Linux's scheduler a thread at nice 10 weighs about
/// a tenth of one at 0, so the block thread gets ~90 % of a core it shares with one. (Nice
/// values weigh threads within their scheduling group: with autogroups, within the session.)
const RECOVERY_NICE: i32 = 10;

/// The sender-recovery threads, shared by every RPC server of the process (one per core);
/// `None` if they could not be started, and then the global rayon pool recovers.
static RECOVERY_POOL: LazyLock<Option<rayon::ThreadPool>> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rpc-recover-{i}"))
        .start_handler(|_| {
            // On Linux a nice value belongs to a thread, not to the whole process.
            // Relative to the thread's own: set absolutely, a node started under `nice -n 19`
            // would put its recovery above its block thread.
            let thread = Some(rustix::thread::gettid());
            let own = rustix::process::getpriority_process(thread).unwrap_or(0);
            let nice = own.saturating_add(RECOVERY_NICE).min(19);
            if let Err(error) = rustix::process::setpriority_process(thread, nice) {
                tracing::debug!(target: "op_node::rpc", %error, "recovery thread keeps its priority");
            }
        })
        .build()
        .inspect_err(|error| {
            tracing::warn!(target: "op_node::rpc", %error, "no recovery threads; using rayon's");
        })
        .ok()
});

/// The RPC middleware (one per connection, around jsonrpsee's own service).
#[derive(Clone, Debug)]
pub(super) struct SendRawBatches<S> {
    inner: S,
    ctx: Arc<RpcCtx>,
}

impl<S> SendRawBatches<S> {
    /// Wraps `inner`.
    pub(super) fn new(inner: S, ctx: Arc<RpcCtx>) -> Self {
        Self { inner, ctx }
    }
}

impl<S> RpcServiceT for SendRawBatches<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.call(req)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }

    /// jsonrpsee's own batch loop (`RpcService::batch`), with runs of raw transactions taken
    /// together.
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        let ctx = self.ctx.clone();
        async move {
            let max_response = ctx.limits.max_response_body as usize;
            let mut responses = BatchResponseBuilder::new_with_limit(max_response);
            let mut got_notification = false;
            let mut entries = batch.into_iter().peekable();
            while let Some(entry) = entries.next() {
                match entry {
                    Ok(BatchEntry::Call(req)) if req.method_name() == SEND_RAW => {
                        let mut run = vec![req];
                        while let Some(Ok(BatchEntry::Call(next))) = entries.peek()
                            && next.method_name() == SEND_RAW
                            && let Some(Ok(BatchEntry::Call(next))) = entries.next()
                        {
                            run.push(next);
                        }
                        for rp in send_raw_run(&ctx, run, max_response).await {
                            if let Err(err) = responses.append(rp) {
                                return err;
                            }
                        }
                    }
                    Ok(BatchEntry::Call(req)) => {
                        if let Err(err) = responses.append(inner.call(req).await) {
                            return err;
                        }
                    }
                    Ok(BatchEntry::Notification(n)) => {
                        got_notification = true;
                        inner.notification(n).await;
                    }
                    Err(err) => {
                        let (err, id) = err.into_parts();
                        if let Err(err) = responses.append(MethodResponse::error(id, err)) {
                            return err;
                        }
                    }
                }
            }
            // As jsonrpsee: a batch of notifications only gets an empty answer, and an empty
            // batch is an invalid request.
            if responses.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(responses.finish())
            }
        }
    }
}

/// Answers a run of `eth_sendRawTransaction` calls, one response per call in order.
async fn send_raw_run(
    ctx: &Arc<RpcCtx>,
    run: Vec<Request<'_>>,
    max_response: usize,
) -> Vec<MethodResponse> {
    let mut calls = Vec::with_capacity(run.len());
    let mut raws = Vec::with_capacity(run.len());
    for req in run {
        let params = Params::new(req.params.as_ref().map(|p| p.get()));
        raws.push(one::<Bytes>(&params));
        calls.push((req.id.into_owned(), req.extensions));
    }
    let work = {
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || admit_run(&ctx, raws))
    };
    match work.await {
        Ok(results) => calls
            .into_iter()
            .zip(results)
            .map(|((id, extensions), result)| {
                MethodResponse::response(id, result.into_response(), max_response)
                    .with_extensions(extensions)
            })
            .collect(),
        Err(join) => {
            tracing::error!(target: "op_node::rpc", error = %join, "raw transaction batch failed");
            calls
                .into_iter()
                .map(|(id, extensions)| {
                    MethodResponse::error(id, ErrorObject::from(ErrorCode::InternalError))
                        .with_extensions(extensions)
                })
                .collect()
        }
    }
}

/// Decodes and recovers the transactions of a run on the recovery threads, a chunk at a time, and
/// admits each chunk in order as soon as it is recovered (so the run's first transactions
/// are in the pool, and in the next block, before its last are recovered); each result is
/// what `eth_sendRawTransaction` alone would have answered.
fn admit_run(ctx: &RpcCtx, raws: Vec<MethodResult<Bytes>>) -> Vec<MethodResult<B256>> {
    let mut admission = eth::Admission::default();
    let mut results = Vec::with_capacity(raws.len());
    let mut raws = raws.into_iter();
    loop {
        let chunk: Vec<_> = raws.by_ref().take(RECOVERY_CHUNK).collect();
        if chunk.is_empty() {
            return results;
        }
        let recover = || -> Vec<_> {
            chunk
                .into_par_iter()
                .map(|raw| -> MethodResult<RecoveredTx> {
                    let raw = raw?;
                    eth::accepting(ctx)?;
                    decode_and_recover(raw, ctx.pool.config()).map_err(|e| RpcError::from(e).into())
                })
                .collect()
        };
        let recovered = match &*RECOVERY_POOL {
            Some(pool) => pool.install(recover),
            None => recover(),
        };
        results.extend(
            recovered
                .into_iter()
                .map(|tx| Ok(admission.admit(ctx, tx?)?)),
        );
    }
}
