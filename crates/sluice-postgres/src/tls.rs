//! TLS for both kinds of connection, with libpq's `sslmode` semantics.
//!
//! libpq's `prefer` and `require` encrypt without verifying the server's certificate; `verify-ca` checks the chain
//! against `sslrootcert` (or the system's roots) but not the host name; `verify-full` checks both. rustls verifies
//! everything by default, so each mode brings a verifier of its own; the weak ones still check the handshake
//! signatures, so the session is encrypted to whoever holds the presented certificate.
//!
//! The commonest verified setup is the one PostgreSQL's documentation shows: a self-signed server certificate made
//! with `openssl req -x509`, copied to the client as its root certificate. OpenSSL's defaults mark such a
//! certificate `CA:TRUE`, and WebPKI refuses a CA certificate as a server's own (`CaUsedAsEndEntity`), where libpq
//! accepts it. So a server certificate that is byte for byte one of the `sslrootcert` certificates is trusted as
//! pinned: the user chose that exact key, so neither its chain nor its validity dates are checked, while under
//! `verify-full` its names still are. What stays different from libpq: WebPKI matches host names against the subject alternative names only, never
//! the common name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::PgError;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Treated like `disable`: Sluice does not retry a refused plain connection with TLS.
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// Whether TLS is attempted at all.
    pub fn wants_tls(self) -> bool {
        !matches!(self, SslMode::Disable | SslMode::Allow)
    }

    /// Whether a server that refuses TLS is an error.
    pub fn requires_tls(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// libpq's spelling, as users write it in `database.sslmode`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed TLS handshake, with what the user can check: under the verifying modes almost every failure is an
/// untrusted CA or a certificate that names another host.
pub(crate) fn handshake_failed(
    host: &str,
    port: u16,
    mode: SslMode,
    sslrootcert: Option<&Path>,
    cause: &dyn std::fmt::Display,
) -> PgError {
    let roots = match sslrootcert {
        Some(path) => format!("a CA in {}", path.display()),
        None => "a CA of the system's root store".to_owned(),
    };
    let hint = match mode {
        SslMode::VerifyCa => format!("; with sslmode=verify-ca the server's certificate must be signed by {roots} (database.sslrootcert)"),
        SslMode::VerifyFull => format!(
            "; with sslmode=verify-full the server's certificate must be signed by {roots} (database.sslrootcert) and name the host `{host}` in its subject alternative names"
        ),
        _ => String::new(),
    };
    PgError::Tls(format!("handshake with {host}:{port} failed under sslmode={mode}: {cause}{hint}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The trust anchors, and the certificates the user listed in `sslrootcert` (empty for the system's roots).
fn roots(sslrootcert: Option<&Path>) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), PgError> {
    let mut store = RootCertStore::empty();
    let mut listed = Vec::new();
    match sslrootcert {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| PgError::Tls(format!("cannot read sslrootcert {}: {e}", path.display())))?;
            let mut reader = std::io::Cursor::new(pem);
            for cert in rustls_pemfile::certs(&mut reader) {
                let cert = cert.map_err(|e| PgError::Tls(format!("bad certificate in {}: {e}", path.display())))?;
                store
                    .add(cert.clone())
                    .map_err(|e| PgError::Tls(format!("unusable certificate in {}: {e}", path.display())))?;
                listed.push(cert);
            }
        }
        None => {
            // Unparsable system certificates are skipped, as libpq does; an empty store is reported by the caller.
            let (added, ignored) = store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            tracing::debug!(added, ignored, "loaded the system's root certificates");
        }
    }
    Ok((store, listed))
}

/// The rustls configuration for a mode that wants TLS.
pub fn client_config(mode: SslMode, sslrootcert: Option<&PathBuf>) -> Result<ClientConfig, PgError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::VerifyFull | SslMode::VerifyCa => {
            let (store, pinned) = roots(sslrootcert.map(|p| p.as_path()))?;
            if store.is_empty() {
                return Err(PgError::Tls(
                    "no root certificates to verify the server with: set database.sslrootcert".into(),
                ));
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .map_err(|e| PgError::Tls(e.to_string()))?;
            Arc::new(Verifying { webpki, pinned, check_name: mode == SslMode::VerifyFull })
        }
        _ => Arc::new(EncryptOnly(provider())),
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `verify-ca` and `verify-full`: a trusted chain (or a pinned certificate, see the module docs); the host name
/// only under `verify-full`.
#[derive(Debug)]
struct Verifying {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    check_name: bool,
}

impl ServerCertVerifier for Verifying {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            if self.check_name {
                rustls::client::verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `prefer`/`require`: encryption without identity, as libpq does.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
