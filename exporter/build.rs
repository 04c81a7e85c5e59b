// `sqlx::migrate!` embeds ./migrations at compile time; a new migration file must make
// cargo build this crate again.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
