//! TLS to PostgreSQL, following libpq's `sslmode`: `disable`/`allow`/`prefer` (or none) connect in plain
//! text (tokio-postgres falls back without a TLS connector); `require` encrypts without authenticating the
//! server, as libpq does; `verify-ca` and `verify-full` verify the certificate chain against the Mozilla
//! roots (plus `DATABASE_CA_FILE`, PEM, when set) and the host name.

use std::sync::Arc;

use diesel::ConnectionResult;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Plain,
    /// Encrypted, server not authenticated.
    Require,
    /// Encrypted and authenticated.
    Verify,
}

/// Splits `sslmode` out of the URL (tokio-postgres does not know the `verify-*` modes).
pub fn split_sslmode(url: &str) -> (String, TlsMode) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), TlsMode::Plain);
    };
    let mut mode = TlsMode::Plain;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslmode=") {
            Some("require") => {
                mode = TlsMode::Require;
                false
            }
            Some("verify-ca" | "verify-full") => {
                mode = TlsMode::Verify;
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, mode)
}

/// Opens a connection with the TLS the URL asks for.
pub async fn establish(url: &str) -> ConnectionResult<AsyncPgConnection> {
    let (plain_url, mode) = split_sslmode(url);
    if mode == TlsMode::Plain {
        return AsyncPgConnection::establish(url).await;
    }
    let bad = |e: String| diesel::ConnectionError::BadConnection(e);
    let mut config: tokio_postgres::Config = plain_url.parse().map_err(|e| bad(format!("{e}")))?;
    config.ssl_mode(tokio_postgres::config::SslMode::Require);
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(client_config(mode).map_err(bad)?);
    let (client, connection) = config.connect(tls).await.map_err(|e| bad(format!("{e}")))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

fn client_config(mode: TlsMode) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    if mode == TlsMode::Require {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var("DATABASE_CA_FILE").ok().filter(|p| !p.trim().is_empty()) {
        let pem = std::fs::read(&path).map_err(|e| format!("DATABASE_CA_FILE {path}: {e}"))?;
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            let cert: CertificateDer<'static> = cert.map_err(|e| format!("DATABASE_CA_FILE {path}: {e}"))?;
            roots.add(cert).map_err(|e| format!("DATABASE_CA_FILE {path}: {e}"))?;
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// libpq's `sslmode=require`: any certificate, but signatures are still checked so the session keys are
/// bound to the presented key.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_split_out_of_the_url() {
        assert_eq!(
            split_sslmode("postgres://h/db"),
            ("postgres://h/db".into(), TlsMode::Plain)
        );
        assert_eq!(
            split_sslmode("postgres://h/db?sslmode=require"),
            ("postgres://h/db".into(), TlsMode::Require)
        );
        assert_eq!(
            split_sslmode("postgres://h/db?application_name=x&sslmode=verify-full"),
            ("postgres://h/db?application_name=x".into(), TlsMode::Verify)
        );
        assert_eq!(split_sslmode("postgres://h/db?sslmode=disable").1, TlsMode::Plain);
    }
}
