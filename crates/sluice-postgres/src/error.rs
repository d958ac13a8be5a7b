//! Errors of the PostgreSQL connections, split into transient (retry) and definite (a person must act).
//!
//! The split matters more than the wording: the application retries transient errors with back-off and stops on
//! definite ones. A lost connection or a server restarting is transient; a wrong password, an untrusted
//! certificate, a missing privilege or a malformed message is not, because retrying cannot fix it.

/// Whom a connection was for, as error messages name it: server, database and user — never the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
}

impl std::fmt::Display for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Login { host, port, dbname, user } = self;
        if host.contains(':') {
            write!(f, "[{host}]:{port} (database `{dbname}`, user `{user}`)")
        } else {
            write!(f, "{host}:{port} (database `{dbname}`, user `{user}`)")
        }
    }
}

/// A tokio-postgres error with what it hides behind its kind: the server's message and SQLSTATE instead of
/// "db error", the I/O cause instead of "error connecting to server".
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(": {detail}"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// A failure talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to PostgreSQL at {login}: {source}")]
    Connect {
        login: Login,
        #[source]
        source: std::io::Error,
    },
    #[error("I/O error on the PostgreSQL connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(
        "PostgreSQL at {login} refused the login: {message} (check database.user, database.password and pg_hba.conf)"
    )]
    Auth { login: Login, message: String },
    #[error("server error {code}: {message}{}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default(), hint.as_ref().map(|h| format!("; hint: {h}")).unwrap_or_default())]
    Server { code: String, message: String, detail: Option<String>, hint: Option<String> },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("{}", describe(.0))]
    Sql(#[from] tokio_postgres::Error),
    /// A statement of `database.initial.statements` failed; it is named by its place, not shown (it may hold a
    /// secret).
    #[error("statement {number} of database.initial.statements failed: {}", describe(source))]
    InitialStatement {
        number: usize,
        #[source]
        source: tokio_postgres::Error,
    },
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
            PgError::InitialStatement { source, .. } => source.code().is_none() && source.is_closed(),
            PgError::Tls(_) | PgError::Auth { .. } | PgError::Protocol(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(host: &str) -> Login {
        Login { host: host.into(), port: 5432, dbname: "shop".into(), user: "alice".into() }
    }

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
        assert!(!PgError::Auth { login: login("db"), message: "m".into() }.is_transient());
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

    #[test]
    fn connection_errors_name_server_database_and_user() {
        let refused =
            PgError::Connect { login: login("db.internal"), source: std::io::ErrorKind::ConnectionRefused.into() };
        assert!(refused.is_transient());
        assert_eq!(
            refused.to_string(),
            "cannot connect to PostgreSQL at db.internal:5432 (database `shop`, user `alice`): connection refused"
        );
        assert!(login("::1").to_string().starts_with("[::1]:5432 "));
    }
}
