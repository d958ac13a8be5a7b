//! Errors of the PostgreSQL connections, split into transient (retry) and definite (a person must act).

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
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
            PgError::Server { code, .. } => code.starts_with("57P") || code.starts_with("08"),
            PgError::Sql(e) => {
                e.is_closed() || e.code().is_none_or(|c| c.code().starts_with("57P") || c.code().starts_with("08"))
            }
            _ => false,
        }
    }
}
