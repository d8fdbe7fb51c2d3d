//! Rebuild when a migration is added: `sqlx::migrate!` embeds the files at compile time, and
//! cargo does not otherwise notice a new file in `migrations/` (as sqlx's docs advise).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
