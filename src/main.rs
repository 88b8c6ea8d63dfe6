//! The `feedmerge` binary: parse the command line, start logging, run, map errors to exit codes.

use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: a daemon that polls all day frees most of what each
/// poll allocates. glibc's malloc keeps those pages (one arena per thread, rarely trimmed), so
/// the resident set grows with every busy round; jemalloc hands unused pages back after a few
/// seconds.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match <feedmerge::cli::Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        // No command: a short way in instead of clap's full help.
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::MissingSubcommand
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            eprint!("{}", feedmerge::cli::FIRST_STEPS);
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    feedmerge::cli::init_logging(cli.log_format);
    match feedmerge::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("feedmerge: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
