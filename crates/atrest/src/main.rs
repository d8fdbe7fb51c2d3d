//! The `atrest` binary: `atrest serve` runs the server; the other subcommands are clients of
//! its HTTPS APIs. Exit codes are listed in [`error`].

mod api;
mod cli;
mod commands;
mod config;
mod error;
mod output;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Command;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(args) => match runtime.block_on(serve::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        command => match runtime.block_on(commands::run(command)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let code = e.kind().exit_code();
                let hint = e.hint().map(str::to_owned);
                eprintln!("error: {:#}", anyhow::Error::new(e));
                if let Some(hint) = hint {
                    eprintln!("hint: {hint}");
                }
                ExitCode::from(code)
            }
        },
    }
}
