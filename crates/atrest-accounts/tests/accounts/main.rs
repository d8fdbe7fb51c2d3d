//! Accounts over HTTPS against a real in-process server.

mod bench;
mod common;
mod kinds;
mod outage;
mod story;
mod validation;
