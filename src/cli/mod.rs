//! One file per verb: its clap `Args` and a `run` that calls the library and prints results.

/// `println!` that returns the write error instead of panicking, so `trawl ... | head` ends
/// quietly ([`finish`] maps a broken pipe to success). Use inside functions returning
/// `anyhow::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

pub mod classify;
pub mod crawl;
pub mod demo;
pub mod eval;
pub mod export;
pub mod refer;
pub mod review;
pub mod rules;
pub mod scan;
pub mod search;
pub mod seed;
pub mod serve;

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

/// Logs go to stderr, filtered by `RUST_LOG` (default `trawl=info`).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("trawl=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Maps a command's result to the process exit code: errors print their whole chain on one line.
pub fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("trawl: {}", chain_message(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `: `-separated. A cause whose text the message already
/// carries (library errors print their I/O cause inline, next to the path) is not repeated.
fn chain_message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for e in err.chain() {
        let s = e.to_string();
        if s.is_empty() || msg.contains(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_message_does_not_repeat_an_inline_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(trawl::refer::ReferError::io("/x/export.json", io))
            .context("reading the export");
        assert_eq!(
            super::chain_message(&err),
            "reading the export: /x/export.json: no such file"
        );
    }
}
