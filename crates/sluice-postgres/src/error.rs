//! Errors of the PostgreSQL connections, split into transient (retry) and definite (a person must act).
//!
//! The split matters more than the wording: the application retries transient errors with back-off and stops on
//! definite ones. A lost connection or a server restarting is transient; a wrong password, an untrusted
//! certificate, a missing privilege or a malformed message is not, because retrying cannot fix it.

/// A failure talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("connection to {host}:{port} failed: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("I/O error on the PostgreSQL connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("authentication of user `{user}` failed: {message} (check the password and pg_hba.conf)")]
    Auth { user: String, message: String },
    #[error("server error {code}: {message}{}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default(), hint.as_ref().map(|h| format!("; hint: {h}")).unwrap_or_default())]
    Server { code: String, message: String, detail: Option<String>, hint: Option<String> },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("{0}")]
    Sql(#[from] tokio_postgres::Error),
}

/// Whether a SQLSTATE means the server went away or is not ready yet: 57P01 admin_shutdown, 57P02
/// crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("57P") || code.starts_with("08")
}

impl PgError {
    /// The SQLSTATE of a server error.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Server { code, .. } => Some(code),
            PgError::Sql(e) => e.code().map(|c| c.code()),
            _ => None,
        }
    }

    /// Whether a retry may succeed: lost connections and servers shutting down or starting up.
    pub fn is_transient(&self) -> bool {
        match self {
            PgError::Connect { .. } | PgError::Io(_) | PgError::Closed => true,
            PgError::Server { code, .. } => transient_sqlstate(code),
            // tokio-postgres hides its error kinds; a server error has a SQLSTATE, a lost connection is `closed` or
            // an I/O error underneath. Anything else (configuration, unexpected messages) will fail again.
            PgError::Sql(e) => match e.code() {
                Some(code) => transient_sqlstate(code.code()),
                None => {
                    e.is_closed()
                        || std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
                }
            },
            PgError::Tls(_) | PgError::Auth { .. } | PgError::Protocol(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: &str) -> PgError {
        PgError::Server { code: code.into(), message: "m".into(), detail: None, hint: None }
    }

    #[test]
    fn lost_connections_and_restarting_servers_are_transient() {
        assert!(PgError::Closed.is_transient());
        assert!(PgError::Io(std::io::ErrorKind::ConnectionReset.into()).is_transient());
        assert!(server("57P01").is_transient());
        assert!(server("57P03").is_transient());
        assert!(server("08006").is_transient());
    }

    #[test]
    fn faults_a_person_must_fix_are_definite() {
        assert!(!PgError::Tls("untrusted".into()).is_transient());
        assert!(!PgError::Auth { user: "u".into(), message: "m".into() }.is_transient());
        assert!(!PgError::Protocol("bad".into()).is_transient());
        assert!(!server("42501").is_transient());
        assert!(!server("55006").is_transient());
    }

    #[test]
    fn server_errors_show_detail_and_hint() {
        let e = PgError::Server {
            code: "42P01".into(),
            message: "relation \"t\" does not exist".into(),
            detail: Some("d".into()),
            hint: Some("h".into()),
        };
        assert_eq!(e.to_string(), "server error 42P01: relation \"t\" does not exist (d); hint: h");
        assert_eq!(e.sqlstate(), Some("42P01"));
    }
}
