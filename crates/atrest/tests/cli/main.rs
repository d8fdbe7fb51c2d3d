//! The client subcommands, run as a user would (the real `atrest` binary) against a real
//! `atrest serve`.
//!
//! One module per area; `support` holds the `User` that runs the binary.

#[path = "../common/mod.rs"]
mod common;
mod crash;
mod data;
mod directory;
mod support;
mod vault;
