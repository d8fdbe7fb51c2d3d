//! Accounts over HTTPS against a real in-process server.

mod bench;
mod byos;
mod common;
mod double;
mod isolation;
mod keyloss;
mod kinds;
mod outage;
mod platform_storage;
mod stores;
mod story;
mod validation;
