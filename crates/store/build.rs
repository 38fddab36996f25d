//! `sqlx::migrate!` embeds `migrations/` at build time; rebuild when a migration is added,
//! changed or removed (Cargo scans a watched directory recursively).

#[allow(clippy::print_stdout)] // Cargo reads build-script instructions from stdout.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
