use clap::Parser;

fn main() -> std::process::ExitCode {
    scim_bridge::cli::main(scim_bridge::cli::Cli::parse())
}
