//! Failures that end the process, each with its own exit code (BSD `sysexits.h` values, so
//! systemd's `RestartPreventExitStatus=` and scripts can tell them apart).

use std::fmt;

/// Why feedmerge stopped with an error. `Display` is the one line a person reads.
#[derive(Debug)]
pub enum Failure {
    /// The configuration file is missing or invalid (every problem is listed).
    Config(crate::config::ConfigError),
    /// The store directory is in use by another feedmerge process.
    StoreLocked(String),
    /// The store could not be opened or written (permissions, full disk, corruption).
    Store(String),
    /// The HTTP listener could not be bound.
    Listen(String),
    /// Anything else: an internal error or an unexpected I/O failure.
    Other(anyhow::Error),
}

impl Failure {
    /// `EX_CONFIG` 78, `EX_TEMPFAIL` 75, `EX_IOERR` 74, `EX_UNAVAILABLE` 69, `EX_SOFTWARE` 70.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => 78,
            Failure::StoreLocked(_) => 75,
            Failure::Store(_) => 74,
            Failure::Listen(_) => 69,
            Failure::Other(_) => 70,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(e) => write!(f, "{e}"),
            Failure::StoreLocked(m) | Failure::Store(m) | Failure::Listen(m) => f.write_str(m),
            Failure::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::Config(e)
    }
}

/// A store that is locked is a temporary failure (another process holds it); one that cannot
/// be opened is an I/O failure.
impl From<crate::store::OpenError> for Failure {
    fn from(e: crate::store::OpenError) -> Self {
        use crate::store::OpenError;
        match e {
            OpenError::Locked(_) => Failure::StoreLocked(e.to_string()),
            OpenError::Unusable { .. } => Failure::Store(e.to_string()),
            OpenError::Task(_) => Failure::Other(anyhow::anyhow!("{e}")),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}
