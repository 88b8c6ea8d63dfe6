//! Secrets in the config: a value may be written in clear, or as `{ env = "NAME" }`,
//! `{ file = "/path" }`, or `{ credential = "name" }` (systemd's `LoadCredential=`, read from
//! `$CREDENTIALS_DIRECTORY/name`), so it need not sit in the TOML.
//!
//! A [`Secret`] prints as `<redacted>` in every `Debug` and `Display`: whatever logs or error
//! messages a config passes through, the value never shows.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::error::Problems;

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that needs it: the outgoing request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret as written in the TOML. A table takes exactly one of its keys: an extra or misspelled
/// one is refused, so a secret is never read from somewhere other than the person meant.
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(super) enum RawSecret {
    Plain(String),
    Env { env: String },
    File { file: String },
    Credential { credential: String },
}

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawSecret::Plain(_) => f.write_str("Plain(<redacted>)"),
            RawSecret::Env { env } => write!(f, "Env({env})"),
            RawSecret::File { file } => write!(f, "File({file})"),
            RawSecret::Credential { credential } => write!(f, "Credential({credential})"),
        }
    }
}

/// Reads the secret, or records a problem at its position saying what is missing. The
/// messages name the variable, file or credential, never the value.
pub(super) fn resolve(
    raw: &Spanned<RawSecret>,
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<Secret> {
    let value = match raw.get_ref() {
        RawSecret::Plain(v) => Ok(v.clone()),
        RawSecret::Env { env } => std::env::var(env).map_err(|_| {
            format!("{what}: the environment variable {env} is not set (or not UTF-8)")
        }),
        RawSecret::File { file } => read_trimmed(file)
            .map_err(|e| format!("{what}: cannot read the secret file {file}: {e}")),
        RawSecret::Credential { credential } => match std::env::var("CREDENTIALS_DIRECTORY") {
            Ok(dir) => read_trimmed(&format!("{dir}/{credential}")).map_err(|e| {
                format!("{what}: cannot read the credential {credential} in {dir}: {e}")
            }),
            Err(_) => Err(format!(
                "{what}: {{ credential = \"{credential}\" }} needs systemd's LoadCredential= (CREDENTIALS_DIRECTORY is not set); use {{ env = ... }} or {{ file = ... }} outside systemd"
            )),
        },
    };
    match value {
        Ok(v) => Some(Secret(v)),
        Err(message) => {
            problems.at(raw.span(), message);
            None
        }
    }
}

/// A secret file's content without the trailing newline editors add.
fn read_trimmed(path: &str) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}
