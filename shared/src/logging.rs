//! How every function (and the local run) logs: JSON when Lambda's log format
//! is JSON (`AWS_LAMBDA_LOG_FORMAT`), at the level Lambda sets
//! (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`; default INFO), and never more
//! verbose than INFO, whatever those say.
//!
//! Why a ceiling rather than redaction: below INFO the libraries log what this
//! service must never write down. The Lambda runtime logs each whole incoming
//! event at TRACE (bearer tokens, subscribers' `accessSecret`, the SendGrid
//! `api_key`, payloads' personal data), and the HTTP and AWS clients log
//! requests and responses at DEBUG and TRACE. Redacting would mean knowing
//! every line of every library, now and after each upgrade; a ceiling holds
//! for all of them. The template refuses TRACE and DEBUG too (`LogLevel`).

use std::str::FromStr;

use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::tracing::subscriber::fmt::MakeWriter;
use lambda_http::tracing::subscriber::util::SubscriberInitExt;
use tracing::Subscriber;

use crate::config::Environment;

/// The most verbose level any function logs at.
pub const CEILING: LevelFilter = LevelFilter::INFO;

/// The level asked for, at most `CEILING`. A value that is not a plain level
/// (a `RUST_LOG` directive such as `lambda_runtime=trace`) counts as INFO.
pub fn level(env: &Environment) -> LevelFilter {
    let asked = env
        .optional("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env.optional("RUST_LOG"))
        .and_then(|level| LevelFilter::from_str(level.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    asked.min(CEILING)
}

/// The functions' subscriber, writing to `writer`.
pub fn subscriber<W>(env: &Environment, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let json = env
        .optional("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    // Lambda stamps each line itself; the target adds nothing a reader needs.
    let builder = lambda_http::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level(env))
        .with_writer(writer);
    if json {
        Box::new(builder.json().finish())
    } else {
        Box::new(builder.finish())
    }
}

/// Installs the functions' subscriber, on stdout, for the whole process.
pub fn init() {
    // Already set (a second call in one process): the first one stays.
    let _ = subscriber(&Environment::process(), std::io::stdout).try_init();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn level_of(vars: &[(&str, &str)]) -> LevelFilter {
        let vars: BTreeMap<&str, &str> = vars.iter().copied().collect();
        level(&Environment::of(&vars))
    }

    #[test]
    fn no_setting_logs_below_info() {
        assert_eq!(level_of(&[]), LevelFilter::INFO);
        assert_eq!(level_of(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]), LevelFilter::WARN);
        assert_eq!(level_of(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR")]), LevelFilter::ERROR);
        for verbose in ["TRACE", "DEBUG", "trace"] {
            assert_eq!(level_of(&[("AWS_LAMBDA_LOG_LEVEL", verbose)]), LevelFilter::INFO);
            assert_eq!(level_of(&[("RUST_LOG", verbose)]), LevelFilter::INFO);
        }
        assert_eq!(
            level_of(&[("RUST_LOG", "info,lambda_runtime=trace")]),
            LevelFilter::INFO
        );
    }
}
