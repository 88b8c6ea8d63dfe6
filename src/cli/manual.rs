//! `generate-man DIR` and `generate-completions DIR`: the man pages and shell completions the
//! Debian package installs, written from the clap definitions (`clap_mangen`, `clap_complete`)
//! so they always describe the binary they ship with.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;
use roff::{bold, italic, roman, Roff};

use super::{config_page, Cli};
use crate::exit::Failure;

/// Writes `feedmerge.1` (every command, with its example), `feedmerge-COMMAND.1` for each
/// command, and `feedmerge.toml.5` into `dir`.
pub fn man_pages(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .map_err(Failure::Other)?;
    let write = |name: &str, text: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(Failure::Other)
    };
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    write("feedmerge.1", &main_page(&cmd)?)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = clap_mangen::Man::new(sub.clone());
        let mut text = Vec::new();
        man.render(&mut text)
            .map_err(|e| Failure::Other(e.into()))?;
        write(&man.get_filename(), &text)?;
    }
    write("feedmerge.toml.5", config_page::render().as_bytes())
}

/// clap_mangen's sections, then an EXAMPLES section gathered from each command's help, and the
/// files and pages a packaged install has.
fn main_page(cmd: &clap::Command) -> Result<Vec<u8>, Failure> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let io = |e: std::io::Error| Failure::Other(e.into());
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    man.render_options_section(&mut out).map_err(io)?;
    man.render_subcommands_section(&mut out).map_err(io)?;
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let Some(example) = sub.get_after_help() else {
            continue;
        };
        roff.control("TP", []);
        roff.text([bold(format!("feedmerge {}", sub.get_name()))]);
        for (i, line) in example.to_string().lines().enumerate() {
            if i > 0 {
                roff.control("br", []);
            }
            roff.text([roman(line.trim().to_string())]);
        }
    }
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([italic(crate::config::DEFAULT_PATH)]);
    roff.text([roman(
        "The configuration, read by every command unless -c or FEEDMERGE_CONFIG names another; \
         see feedmerge.toml(5).",
    )]);
    roff.control("TP", []);
    roff.text([italic("/var/lib/feedmerge")]);
    roff.text([roman(
        "The store ([store] path); under systemd the unit's StateDirectory= creates it.",
    )]);
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "0 on success, 2 for a usage error, 78 for an invalid configuration, 75 when another \
         process holds the store, 74 when the store cannot be read or written, 69 when the \
         address cannot be bound, 70 for anything else.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "feedmerge.toml(5), systemctl(1), journalctl(1); each command's page, e.g. \
         feedmerge-run(1).",
    )]);
    out.extend_from_slice(roff.render().as_bytes());
    man.render_version_section(&mut out).map_err(io)?;
    Ok(out)
}

/// Writes `feedmerge.bash`, `_feedmerge` (zsh) and `feedmerge.fish` into `dir`.
pub fn completions(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .map_err(Failure::Other)?;
    // The hidden commands left out: clap_complete's bash script lists them otherwise.
    let full = Cli::command();
    let visible = clap::Command::new("feedmerge")
        .version(env!("CARGO_PKG_VERSION"))
        .about(full.get_about().cloned().unwrap_or_default())
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = visible.clone();
        clap_complete::generate_to(shell, &mut cmd, "feedmerge", dir)
            .with_context(|| format!("cannot write the {shell} completion into {}", dir.display()))
            .map_err(Failure::Other)?;
    }
    Ok(())
}
