//! The `feedmerge` binary: parse the command line, start logging, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = <feedmerge::cli::Cli as clap::Parser>::parse();
    feedmerge::cli::init_logging(cli.log_format);
    match feedmerge::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("feedmerge: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
