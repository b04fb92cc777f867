//! Rebuild when a migration is added or edited: they are embedded in the binary at compile
//! time, and cargo does not otherwise know to look at `migrations/`.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
