//! The op-node binary: parse flags, set up logging, run.

use clap::Parser;
use op_node::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    // Before any thread starts (the runtime's included): see op_node::allocator.
    op_node::allocator::keep_freed_memory();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Devnet(args) => op_node::node::run_devnet(*args).await.map_err(Into::into),
        Command::Verifier(args) => op_node::node::run_verifier(*args).await.map_err(Into::into),
        Command::CheckBlock(args) => op_node::check_block::run(args).await.map_err(Into::into),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(target: "node", error = %e, "fatal");
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
