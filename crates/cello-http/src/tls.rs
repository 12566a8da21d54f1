//! TLS with rustls (no OpenSSL): PEM chains, ALPN (`h2`, `http/1.1`), TLS 1.2 and 1.3
//! with rustls' safe defaults, optional client certificates (mTLS), and certificate
//! reload without a restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Where the certificate and key are, and whether clients must present one.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM file with the certificate chain, leaf first.
    pub cert_path: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
    /// PEM bundle of CAs whose client certificates are accepted; set to require mTLS.
    pub client_ca_path: Option<PathBuf>,
    /// Offer HTTP/2 through ALPN.
    pub http2: bool,
}

/// A TLS setup problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} contains no {what} in PEM format (expected a '-----BEGIN ...-----' block)")]
    Empty { what: &'static str, path: PathBuf },
    #[error("the private key {key} does not match the certificate {cert}: {detail}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
    #[error("invalid TLS setup: {0}")]
    Rustls(String),
}

/// The certificate currently served; `reload` swaps it while connections continue.
pub struct CertificateStore {
    settings: TlsSettings,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for CertificateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateStore")
            .field("cert_path", &self.settings.cert_path)
            .finish_non_exhaustive()
    }
}

impl CertificateStore {
    /// Reads the certificate and key again (after a renewal); new handshakes use them,
    /// established connections keep theirs. On error the old certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load_certified_key(&self.settings)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(fresh);
        }
        Ok(())
    }
}

impl ResolvesServerCert for CertificateStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| current.clone())
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, what)?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

fn load_certified_key(settings: &TlsSettings) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&settings.cert_path, "certificate")?;
    let key_pem = read(&settings.key_path, "private key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Empty {
        what: "private key",
        path: settings.key_path.clone(),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| TlsError::Rustls(format!("{}: {error}", settings.key_path.display())))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|error| TlsError::Mismatch {
        cert: settings.cert_path.clone(),
        key: settings.key_path.clone(),
        detail: error.to_string(),
    })?;
    Ok(certified)
}

/// The acceptor for `settings` and the store that reloads its certificate.
/// Fails at start-up with a clear error (missing file, empty PEM, key mismatch).
pub fn acceptor(settings: &TlsSettings) -> Result<(TlsAcceptor, Arc<CertificateStore>), TlsError> {
    let (config, store) = server_config(settings, false)?;
    Ok((TlsAcceptor::from(Arc::new(config)), store))
}

/// The rustls configuration for `settings` (TLS 1.3 only when `tls13_only`, as QUIC
/// requires), and its certificate store.
pub fn server_config(
    settings: &TlsSettings,
    tls13_only: bool,
) -> Result<(ServerConfig, Arc<CertificateStore>), TlsError> {
    let store = Arc::new(CertificateStore {
        current: RwLock::new(Arc::new(load_certified_key(settings)?)),
        settings: settings.clone(),
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone());
    let builder = if tls13_only {
        builder.with_protocol_versions(&[&rustls::version::TLS13])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .map_err(|error| TlsError::Rustls(error.to_string()))?;
    let builder = match &settings.client_ca_path {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(path, "client CA certificate")? {
                roots
                    .add(certificate)
                    .map_err(|error| TlsError::Rustls(format!("{}: {error}", path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::Rustls(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(store.clone());
    config.alpn_protocols = if settings.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok((config, store))
}
