//! Errors that reach the user, each with the exit code it maps to.

use crate::backend::BackendError;
use crate::config::allow::RuleError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user asked for something that cannot be: exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A named engine of several that cannot be reached, said on one line: exit code 3.
    #[error("{0}")]
    EngineDown(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }

    /// 2: bad input or config; 3: the engine cannot be reached; 1: anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Config(_) => 2,
            Error::Backend(BackendError::Misconfigured { .. }) => 2,
            Error::Backend(BackendError::Unreachable { .. }) | Error::EngineDown(_) => 3,
            _ => 1,
        }
    }
}

/// A bad allowlist rule is the user's to fix: a usage error.
impl From<RuleError> for Error {
    fn from(e: RuleError) -> Self {
        Error::Usage(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
