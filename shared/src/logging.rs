//! How every function (and the local run) logs: JSON when Lambda's log format
//! is JSON (`AWS_LAMBDA_LOG_FORMAT`), at the level Lambda sets
//! (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` and its directives; default INFO),
//! and never more verbose than INFO, whatever those say.
//!
//! Why a ceiling rather than redaction: below INFO the libraries log what this
//! service must never write down. The Lambda runtime logs each whole incoming
//! event at TRACE (bearer tokens, subscribers' `accessSecret`, the SendGrid
//! `api_key`, payloads' personal data), and the HTTP and AWS clients log
//! requests and responses at DEBUG and TRACE. Redacting would mean knowing
//! every line of every library, now and after each upgrade; a ceiling holds
//! for all of them. The template refuses TRACE and DEBUG too (`LogLevel`).

use lambda_http::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_http::tracing::subscriber::fmt::MakeWriter;
use lambda_http::tracing::subscriber::layer::SubscriberExt;
use lambda_http::tracing::subscriber::util::SubscriberInitExt;
use tracing::Subscriber;

use crate::config::Environment;

/// The most verbose level any function logs at.
pub const CEILING: LevelFilter = LevelFilter::INFO;

/// The level asked for, at most `CEILING` (an unreadable one: INFO).
pub fn level(env: &Environment) -> LevelFilter {
    filter(env).max_level_hint().unwrap_or(LevelFilter::INFO).min(CEILING)
}

/// What `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`) asks for: a level, or
/// `RUST_LOG` directives such as `error,aws_smithy_runtime=off`; INFO when
/// unset or unreadable. `CEILING` caps it in `subscriber`.
fn filter(env: &Environment) -> EnvFilter {
    let asked = env
        .optional("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env.optional("RUST_LOG"))
        .unwrap_or_default();
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(asked.trim())
        .unwrap_or_else(|_| EnvFilter::new("info"))
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
        .with_env_filter(filter(env))
        .with_writer(writer);
    // The ceiling is a layer of its own: no directive can lift it.
    if json {
        Box::new(builder.json().finish().with(CEILING))
    } else {
        Box::new(builder.finish().with(CEILING))
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
        assert_eq!(level_of(&[("RUST_LOG", "not a level=")]), LevelFilter::INFO);
    }

    #[test]
    fn directives_quieten_targets_but_never_lift_the_ceiling() {
        // GIVEN RUST_LOG asking for errors only, and TRACE for this module
        let lines = crate::testing::Lines::default();
        let vars = BTreeMap::from([("RUST_LOG", "error,shared::logging=trace")]);
        let writer = lines.clone();
        let subscriber = subscriber(&Environment::of(&vars), move || writer.clone());
        // WHEN this module and another log at every level
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!("secret-at-trace");
            tracing::debug!("secret-at-debug");
            tracing::info!("info-here");
            tracing::info!(target: "elsewhere", "info-elsewhere");
            tracing::error!(target: "elsewhere", "error-elsewhere");
        });
        // THEN the module logs INFO (not below), the rest errors only
        let out = lines.text();
        assert!(out.contains("info-here") && out.contains("error-elsewhere"), "{out}");
        for absent in ["secret-at-trace", "secret-at-debug", "info-elsewhere"] {
            assert!(!out.contains(absent), "{absent} in {out}");
        }
    }
}
