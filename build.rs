//! Rebuild when migrations change: they are embedded with `embed_migrations!`, which cargo cannot see.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
