//! The mock's own certificate authority: created on first start in the state directory and
//! reused afterwards, so clients trust `DIR/ca.pem` once. The server certificate names
//! 127.0.0.1, ::1 and localhost.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// File names inside the state directory.
pub const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca-key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot use the state directory {dir}: {source}")]
    Io { dir: PathBuf, source: io::Error },
    #[error("cannot create the certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("the certificates in {dir} are unusable ({reason}); delete them to have new ones made")]
    Unusable { dir: PathBuf, reason: String },
}

/// The TLS material of a running mock.
pub struct TlsMaterial {
    pub ca_pem_path: PathBuf,
    pub server_config: Arc<ServerConfig>,
}

/// Loads the CA and server certificate from `dir`, creating what is missing.
pub fn load_or_create(dir: &Path) -> Result<TlsMaterial, TlsError> {
    let io_err = |source| TlsError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    let ca_path = dir.join(CA_CERT);
    let ca_key_path = dir.join(CA_KEY);
    let (ca_params, ca_key) = if ca_path.exists() && ca_key_path.exists() {
        let unusable = |reason: String| TlsError::Unusable {
            dir: dir.to_path_buf(),
            reason,
        };
        let key_pem = fs::read_to_string(&ca_key_path).map_err(io_err)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| unusable(e.to_string()))?;
        // The CA's name is fixed, so its parameters can be rebuilt instead of parsed back.
        (ca_params(), key)
    } else {
        let key = KeyPair::generate()?;
        let params = ca_params();
        let cert = params.self_signed(&key)?;
        write_private(&ca_key_path, &key.serialize_pem()).map_err(io_err)?;
        fs::write(&ca_path, cert.pem()).map_err(io_err)?;
        (params, key)
    };
    let issuer = Issuer::new(ca_params, ca_key);

    let server_path = dir.join(SERVER_CERT);
    let server_key_path = dir.join(SERVER_KEY);
    if !(server_path.exists() && server_key_path.exists()) {
        let key = KeyPair::generate()?;
        let cert = server_params().signed_by(&key, &issuer)?;
        write_private(&server_key_path, &key.serialize_pem()).map_err(io_err)?;
        fs::write(&server_path, cert.pem()).map_err(io_err)?;
    }
    let server_config = server_config(dir, &server_path, &server_key_path)?;
    Ok(TlsMaterial {
        ca_pem_path: ca_path,
        server_config,
    })
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "mock-graph local CA");
    p.distinguished_name
        .push(DnType::OrganizationName, "mock-graph");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2049, 12, 31);
    p
}

fn server_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().expect("static DNS name")),
        SanType::IpAddress([127, 0, 0, 1].into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    // Clients check server certificates against the real clock, not the tenant's; keep it
    // well inside what TLS libraries accept (825 days is not enforced for private CAs).
    p.not_after = rcgen::date_time_ymd(2049, 12, 31);
    p
}

fn server_config(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let unusable = |reason: String| TlsError::Unusable {
        dir: dir.to_path_buf(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| unusable(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| unusable(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| unusable(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| unusable(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}
