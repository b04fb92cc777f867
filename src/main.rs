use clap::Parser;

// The system allocator, on purpose: mimalloc made a userName-eq lookup 40% cheaper in CPU
// but doubled the bridge's peak RSS under load (70 MB against 35 MB, BENCHMARKS.md); for a
// sidecar beside the application the memory matters more than throughput far above what an
// identity provider sends.

fn main() -> std::process::ExitCode {
    scim_bridge::cli::main(scim_bridge::cli::Cli::parse())
}
