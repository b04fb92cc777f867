use clap::Parser;

/// mimalloc: a request allocates and frees many small strings and JSON nodes; glibc's malloc
/// was a fifth of the instructions a `userName eq` lookup cost (callgrind, see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scim_bridge::cli::main(scim_bridge::cli::Cli::parse())
}
