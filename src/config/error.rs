//! Configuration errors that point at `file:line:col` and say what to write instead.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, or 0 when the problem is not at a position (the file is missing).
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    pub message: String,
}

/// Every problem found in one configuration file. `run` refuses to start on any of them.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub(super) fn whole_file(path: &Path, message: String) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message,
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.line == 0 {
                write!(f, "{}: {}", self.path.display(), p.message)?;
            } else {
                write!(
                    f,
                    "{}:{}:{}: {}",
                    self.path.display(),
                    p.line,
                    p.column,
                    p.message
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Collects problems while the validated config is built, turning byte spans into positions.
pub(super) struct Problems<'a> {
    text: &'a str,
    /// Byte offset where each line starts: a position is a binary search, not a scan from the
    /// top (every source's position is taken: for a 10,000-source config a scan takes seconds).
    line_starts: Vec<usize>,
    found: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Problems {
            text,
            line_starts,
            found: Vec::new(),
        }
    }

    pub fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.position(span.clone());
        self.found.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    pub fn position(&self, span: Range<usize>) -> (usize, usize) {
        let offset = span.start.min(self.text.len());
        // The last line starting at or before `offset` (line_starts[0] is 0, so there is one).
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }

    pub fn into_result(self, path: &Path) -> Result<(), ConfigError> {
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                path: path.to_path_buf(),
                problems: self.found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Problems;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        let p = Problems::new(text);
        let line_col = |offset| p.position(offset..offset);
        assert_eq!(line_col(0), (1, 1));
        assert_eq!(line_col(5), (1, 6));
        assert_eq!(line_col(6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(11), (2, 5));
        assert_eq!(line_col(text.len()), (3, 1));
        assert_eq!(line_col(text.len() + 9), (3, 1));
    }
}
