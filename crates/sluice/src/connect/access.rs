//! Who may talk to the worker: the listener's address, HTTP basic authentication, TLS.
//!
//! The REST API can create connectors that read the worker's database credentials and write to its Kafka, so it
//! listens on loopback unless `listeners` says otherwise. Authentication is Kafka Connect's
//! `BasicAuthSecurityRestExtension`: a properties file of `user=password` lines (its `PropertyFileLoginModule`),
//! named by the JAAS file Kafka Connect would be given (`java.security.auth.login.config`, its `file=` option) or
//! directly (`rest.basic.auth.credentials.file`). Unlike Kafka's module, an empty credentials file is an error, not
//! an open door. Probes and `/metrics` stay open on an allowlist (`rest.unauthenticated.paths`) so that a
//! Kubernetes probe or a Prometheus scrape needs no password.
//!
//! TLS follows Kafka Connect's `listeners=https://…` with `listeners.https.ssl.*` (or the same keys without the
//! prefix), for PEM key stores: a file holding the private key and the certificate chain, or both inline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Kafka Connect's basic-auth extension class.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";

/// Paths served without credentials unless `rest.unauthenticated.paths` says otherwise.
pub const DEFAULT_OPEN_PATHS: &[&str] =
    &["/health", "/health/live", "/health/ready", "/q/health/live", "/q/health/ready", "/metrics", "/q/metrics"];

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The users allowed in, and the paths open to everyone.
#[derive(Clone)]
pub struct Access {
    users: Option<HashMap<String, String>>,
    open_paths: Vec<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users = self.users.as_ref().map(|u| u.len());
        f.debug_struct("Access").field("users", &users).field("open_paths", &self.open_paths).finish()
    }
}

impl Access {
    /// From the worker's keys; `problems` collects what is wrong.
    pub fn from_worker(entries: &std::collections::BTreeMap<String, String>, problems: &mut Vec<String>) -> Access {
        let extension = entries
            .get("rest.extension.classes")
            .is_some_and(|classes| classes.split(',').any(|c| c.trim() == BASIC_AUTH_EXTENSION));
        let credentials =
            match (entries.get("rest.basic.auth.credentials.file"), entries.get("java.security.auth.login.config")) {
                (Some(file), _) => Some(file.trim().to_string()),
                (None, Some(jaas)) => match jaas_credentials_file(Path::new(jaas.trim())) {
                    Ok(file) => Some(file),
                    Err(e) => {
                        problems.push(e);
                        None
                    }
                },
                (None, None) => None,
            };
        let users = match (extension, credentials) {
            (_, Some(file)) => match read_credentials(Path::new(&file)) {
                Ok(users) => Some(users),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            (true, None) => {
                problems.push(format!(
                    "`rest.extension.classes` names {BASIC_AUTH_EXTENSION}, but no credentials are given: set \
                     `rest.basic.auth.credentials.file` (user=password lines) or `java.security.auth.login.config` \
                     (a JAAS file with a PropertyFileLoginModule file=\"…\")"
                ));
                None
            }
            (false, None) => None,
        };
        let open_paths = match entries.get("rest.unauthenticated.paths") {
            Some(paths) => paths.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            None => DEFAULT_OPEN_PATHS.iter().map(|p| p.to_string()).collect(),
        };
        Access { users, open_paths }
    }

    /// Whether requests must authenticate.
    pub fn enabled(&self) -> bool {
        self.users.is_some()
    }

    fn permits(&self, request: &Request) -> bool {
        let Some(users) = &self.users else { return true };
        if self.open_paths.iter().any(|p| p == request.uri().path()) {
            return true;
        }
        let Some(credentials) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
        else {
            return false;
        };
        let Some((user, password)) = credentials.split_once(':') else { return false };
        // Every user is compared, each in constant time, so timing tells neither names nor passwords.
        users.iter().fold(false, |found, (u, p)| found | (same(u, user) & same(p, password)))
    }
}

/// Constant-time equality of two strings (their lengths may show).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: 401 with a `WWW-Authenticate` challenge for a request without valid credentials.
pub async fn authenticate(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    if access.permits(&request) {
        return next.run(request).await;
    }
    let mut response = super::error(StatusCode::UNAUTHORIZED, "Authentication required: HTTP basic credentials");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"sluice\""));
    response.into_response()
}

/// The `file="…"` of the JAAS file's `KafkaConnect` login module.
fn jaas_credentials_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("`java.security.auth.login.config`: cannot read {}: {e}", path.display()))?;
    let section = text.find("KafkaConnect").map(|at| &text[at..]).ok_or_else(|| {
        format!("`java.security.auth.login.config`: {} has no KafkaConnect {{ … }} section", path.display())
    })?;
    let section = &section[..section.find("};").unwrap_or(section.len())];
    let at = section.find("file").ok_or_else(|| {
        format!("`java.security.auth.login.config`: the KafkaConnect section of {} has no file=\"…\"", path.display())
    })?;
    let quoted =
        section[at + 4..].trim_start().strip_prefix('=').map(str::trim_start).and_then(|s| s.strip_prefix('"'));
    quoted
        .and_then(|q| q.find('"').map(|end| q[..end].to_string()))
        .ok_or_else(|| format!("`java.security.auth.login.config`: file=\"…\" in {} is not quoted", path.display()))
}

/// `user=password` lines, as Kafka's `PropertyFileLoginModule` reads them.
fn read_credentials(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the REST credentials file {}: {e}", path.display()))?;
    let users: HashMap<String, String> =
        sluice_config::parse_properties(&text).into_iter().map(|e| (e.key, e.value)).collect();
    if users.is_empty() {
        return Err(format!(
            "the REST credentials file {} has no user=password line; with nobody able to log in the API would be \
             useless (Kafka's module would let everyone in)",
            path.display()
        ));
    }
    Ok(users)
}

/// The listener's TLS settings.
#[derive(Clone)]
pub struct Tls(TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// TLS for the listener, from `listeners.https.ssl.*`.
pub fn tls_acceptor(entries: &std::collections::BTreeMap<String, String>, problems: &mut Vec<String>) -> Option<Tls> {
    let get = |key: &str| entries.get(&format!("listeners.https.{key}")).or_else(|| entries.get(key)).map(|v| v.trim());
    let named = |key: &str| format!("`listeners.https.{key}`");
    if let Some(kind) = get("ssl.keystore.type").filter(|t| !t.eq_ignore_ascii_case("PEM")) {
        problems.push(format!(
            "{} = `{kind}`: Sluice reads PEM key stores; convert it (e.g. `openssl pkcs12 -in store.p12 -nodes -out \
             store.pem`) and set ssl.keystore.type=PEM",
            named("ssl.keystore.type")
        ));
        return None;
    }
    if get("ssl.key.password").is_some() {
        problems.push(format!(
            "{}: encrypted private keys are not supported; give the key unencrypted in a file only the worker can read",
            named("ssl.key.password")
        ));
        return None;
    }
    let pem = match (get("ssl.keystore.location"), get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")) {
        (Some(location), _, _) => match std::fs::read(location) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push(format!("{}: cannot read {location}: {e}", named("ssl.keystore.location")));
                return None;
            }
        },
        (None, Some(chain), Some(key)) => format!("{key}\n{chain}\n").into_bytes(),
        _ => {
            problems.push(format!(
                "`listeners` has an https listener, but no key store: set {} (a PEM file with the private key and \
                 the certificate chain), or {} and {}",
                named("ssl.keystore.location"),
                named("ssl.keystore.certificate.chain"),
                named("ssl.keystore.key")
            ));
            return None;
        }
    };
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut pem.as_slice()).filter_map(Result::ok).collect();
    let key: Option<PrivateKeyDer<'static>> = rustls_pemfile::private_key(&mut pem.as_slice()).ok().flatten();
    let (Some(key), false) = (key, certs.is_empty()) else {
        problems.push("the https key store must hold a PEM private key and at least one certificate".into());
        return None;
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        match rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions() {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("TLS: {e}"));
                return None;
            }
        };
    let builder = match get("ssl.client.auth").unwrap_or("none") {
        "none" => builder.with_no_client_auth(),
        mode @ ("required" | "requested") => {
            let Some(location) = get("ssl.truststore.location") else {
                problems.push(format!(
                    "{} = `{mode}` needs {} (PEM)",
                    named("ssl.client.auth"),
                    named("ssl.truststore.location")
                ));
                return None;
            };
            let mut roots = rustls::RootCertStore::empty();
            let pem = std::fs::read(location).unwrap_or_default();
            for cert in rustls_pemfile::certs(&mut pem.as_slice()).filter_map(Result::ok) {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                problems.push(format!("{}: {location} holds no PEM certificate", named("ssl.truststore.location")));
                return None;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if mode == "requested" { verifier.allow_unauthenticated() } else { verifier };
            match verifier.build() {
                Ok(v) => builder.with_client_cert_verifier(v),
                Err(e) => {
                    problems.push(format!("{}: {e}", named("ssl.truststore.location")));
                    return None;
                }
            }
        }
        other => {
            problems.push(format!("{} = `{other}`: expected none, requested or required", named("ssl.client.auth")));
            return None;
        }
    };
    match builder.with_single_cert(certs, key) {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Tls(TlsAcceptor::from(Arc::new(config))))
        }
        Err(e) => {
            problems.push(format!("the https key store's key does not fit its certificate: {e}"));
            None
        }
    }
}

/// A TLS listener for axum: handshakes run in tasks of their own, so a client that stalls its handshake holds up
/// nobody else.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, Tls(acceptor): Tls) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "REST API: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let ready = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "REST API: TLS handshake failed"),
                        Err(_) => tracing::debug!(peer = %peer, "REST API: TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TlsListener { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task only ends once this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn request(path: &str, authorization: Option<&str>) -> Request {
        let mut builder = axum::http::Request::builder().uri(path);
        if let Some(a) = authorization {
            builder = builder.header(header::AUTHORIZATION, a);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn credentials_come_from_the_jaas_file_as_kafka_connect_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials.properties");
        std::fs::write(&credentials, "admin=s3cret\n").unwrap();
        let jaas = dir.path().join("connect.jaas");
        std::fs::write(
            &jaas,
            format!(
                "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
                credentials.display()
            ),
        )
        .unwrap();
        let mut problems = Vec::new();
        let access = Access::from_worker(
            &entries(&[
                ("rest.extension.classes", BASIC_AUTH_EXTENSION),
                ("java.security.auth.login.config", jaas.to_str().unwrap()),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(access.permits(&request("/connectors", Some(&basic("admin", "s3cret")))));
        assert!(!access.permits(&request("/connectors", Some(&basic("admin", "s3cre")))));
        assert!(!access.permits(&request("/connectors", Some(&basic("admin", "s3cret!")))));
        assert!(!access.permits(&request("/connectors", None)));
        assert!(access.permits(&request("/health/ready", None)), "probes stay open");
    }

    #[test]
    fn the_extension_without_credentials_or_with_an_empty_file_is_an_error() {
        let mut problems = Vec::new();
        Access::from_worker(&entries(&[("rest.extension.classes", BASIC_AUTH_EXTENSION)]), &mut problems);
        assert!(problems[0].contains("no credentials"), "{problems:?}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.properties");
        std::fs::write(&empty, "# nobody\n").unwrap();
        let mut problems = Vec::new();
        Access::from_worker(&entries(&[("rest.basic.auth.credentials.file", empty.to_str().unwrap())]), &mut problems);
        assert!(problems[0].contains("no user=password"), "{problems:?}");
    }

    #[test]
    fn the_open_paths_are_configurable() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("c.properties");
        std::fs::write(&credentials, "u=p\n").unwrap();
        let mut problems = Vec::new();
        let access = Access::from_worker(
            &entries(&[
                ("rest.basic.auth.credentials.file", credentials.to_str().unwrap()),
                ("rest.unauthenticated.paths", "/health/live"),
            ]),
            &mut problems,
        );
        assert!(access.permits(&request("/health/live", None)));
        assert!(!access.permits(&request("/metrics", None)));
    }

    #[test]
    fn no_authentication_configured_lets_everyone_in() {
        let access = Access::from_worker(&BTreeMap::new(), &mut Vec::new());
        assert!(!access.enabled() && access.permits(&request("/connectors", None)));
    }

    #[test]
    fn java_key_stores_get_the_conversion_hint() {
        let mut problems = Vec::new();
        let tls = tls_acceptor(
            &entries(&[
                ("listeners.https.ssl.keystore.type", "PKCS12"),
                ("listeners.https.ssl.keystore.location", "/ks.p12"),
            ]),
            &mut problems,
        );
        assert!(tls.is_none() && problems[0].contains("openssl pkcs12"), "{problems:?}");
    }
}
