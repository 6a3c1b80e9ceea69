//! Links the going binary without unwind tables (see
//! `.cargo/no-unwind-tables.ld`): with `panic = "abort"` nothing in it
//! unwinds. Only the binary: the test programs, which are std programs,
//! keep theirs, so a failing test unwinds, reports what it asserted and
//! runs its cleanup (the going it started is stopped). And it starts the
//! binary's read-write segment on a 1 KiB boundary (`.cargo/rw-page.ld`).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=.cargo/no-unwind-tables.ld");
    println!("cargo:rerun-if-changed=.cargo/rw-page.ld");
    let target = std::env::var("TARGET").unwrap_or_default();
    // The host build of the unit tests links with the host's own linker
    // and tables; only the musl targets use the script.
    if target.ends_with("-linux-musl") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/.cargo/no-unwind-tables.ld");
        println!("cargo:rustc-link-arg-bins=-T{dir}/.cargo/rw-page.ld");
    }
}
