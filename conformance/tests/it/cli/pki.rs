//! An administrator's certificate authority, played by the `openssl` command as an
//! organisation's CA would run it: a root CA, an issuing (intermediate) CA under it, and client
//! certificates the issuing CA signs with `openssl ca` (which keeps the index that revocation
//! and CRLs need). Leaves come as PEM pairs and as PFX files; a leaf can be revoked and the CRL
//! checked with `openssl verify -crl_check`. Nothing here is the client's code.

use std::path::PathBuf;
use std::process::Command;

use time::OffsetDateTime;
use time::macros::format_description;

/// The password of the PFX files made here.
pub const PFX_PASSWORD: &str = "changeit";

const CA_CONFIG: &str = r#"[ ca ]
default_ca = CA_root
[ CA_root ]
dir = ./root
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/new
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
default_days = 1825
default_crl_days = 30
crl_extensions = crl_ext
[ CA_inter ]
dir = ./inter
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/new
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
default_days = 365
default_crl_days = 30
crl_extensions = crl_ext
[ policy_any ]
organizationName = optional
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_inter ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"#;

/// What a leaf's key is.
#[derive(Debug, Clone, Copy)]
pub enum LeafKey {
    Rsa(u32),
    /// An EC P-256 key.
    Ec,
}

/// A client certificate the issuing CA signed, in every form an administrator may hold it.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub name: String,
    pub certificate_pem: PathBuf,
    pub key_pem: PathBuf,
    /// The key as an encrypted PKCS#8 PEM (password [`PFX_PASSWORD`]).
    pub encrypted_key_pem: PathBuf,
    /// The key as a PKCS#1 PEM ("RSA PRIVATE KEY"), for RSA keys.
    pub pkcs1_key_pem: PathBuf,
    /// PKCS#12 with the chain, as OpenSSL 3 writes it by default (PBES2, AES-256, SHA-256 MAC).
    pub pfx: PathBuf,
    /// The same with `-legacy` (3DES and RC2, SHA-1 MAC), as older tools write it.
    pub legacy_pfx: PathBuf,
    /// Uppercase hex SHA-256 of the certificate's DER.
    pub sha256: String,
}

/// A root CA and an issuing CA in a temporary directory.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// Makes the two CAs.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a directory for the CA");
        for ca in ["root", "inter"] {
            std::fs::create_dir_all(dir.path().join(ca).join("new")).unwrap();
            std::fs::write(dir.path().join(ca).join("index.txt"), "").unwrap();
            std::fs::write(dir.path().join(ca).join("serial"), "1000\n").unwrap();
            std::fs::write(dir.path().join(ca).join("crlnumber"), "1000\n").unwrap();
        }
        std::fs::write(dir.path().join("ca.cnf"), CA_CONFIG).unwrap();
        let pki = Self { dir };
        pki.openssl(&[
            "req",
            "-x509",
            "-new",
            "-config",
            "ca.cnf",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "3650",
            "-subj",
            "/O=Contoso PKI/CN=Contoso Root CA",
            "-extensions",
            "v3_root",
            "-keyout",
            "root/ca.key",
            "-out",
            "root/ca.pem",
        ]);
        pki.openssl(&[
            "req",
            "-new",
            "-config",
            "ca.cnf",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-subj",
            "/O=Contoso PKI/CN=Contoso Issuing CA",
            "-keyout",
            "inter/ca.key",
            "-out",
            "inter/ca.csr",
        ]);
        pki.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-name",
            "CA_root",
            "-extensions",
            "v3_inter",
            "-in",
            "inter/ca.csr",
            "-out",
            "inter/ca.pem",
        ]);
        let chain = [
            std::fs::read(pki.path("inter/ca.pem")).unwrap(),
            std::fs::read(pki.path("root/ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(pki.path("chain.pem"), chain).unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `openssl` in the CA's directory; panics with its output when it fails.
    pub fn openssl(&self, args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The issuing CA signs a client certificate for `name`: its key, its digest, valid from
    /// `not_before` to `not_after` (the test's clock, not the machine's).
    pub fn issue(
        &self,
        name: &str,
        key: LeafKey,
        digest: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Leaf {
        let key_pem = format!("{name}.key");
        let newkey = match key {
            LeafKey::Rsa(bits) => format!("rsa:{bits}"),
            LeafKey::Ec => {
                self.openssl(&["ecparam", "-name", "prime256v1", "-out", "ec.param"]);
                "ec:ec.param".to_owned()
            }
        };
        let subject = format!("/O=Contoso/CN={name}.contoso.com");
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "ca.cnf",
            "-newkey",
            &newkey,
            "-nodes",
            "-subj",
            &subject,
            "-keyout",
            &key_pem,
            "-out",
            &format!("{name}.csr"),
        ]);
        let format = format_description!("[year][month][day][hour][minute][second]Z");
        let start = not_before.format(&format).expect("a start date");
        let end = not_after.format(&format).expect("an end date");
        self.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-name",
            "CA_inter",
            "-extensions",
            "v3_client",
            "-md",
            digest,
            "-startdate",
            &start,
            "-enddate",
            &end,
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.pem"),
        ]);
        let pfx = format!("{name}.pfx");
        let legacy_pfx = format!("{name}-legacy.pfx");
        let pass = format!("pass:{PFX_PASSWORD}");
        let certificate_pem = format!("{name}.pem");
        let export = |out: &str, legacy: bool| {
            let mut args = vec![
                "pkcs12",
                "-export",
                "-inkey",
                &key_pem,
                "-in",
                &certificate_pem,
                "-certfile",
                "chain.pem",
                "-name",
                name,
                "-passout",
                &pass,
                "-out",
                out,
            ];
            if legacy {
                args.push("-legacy");
            }
            self.openssl(&args);
        };
        export(&pfx, false);
        export(&legacy_pfx, true);
        let encrypted = format!("{name}.enc.pem");
        self.openssl(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            &key_pem,
            "-passout",
            &pass,
            "-out",
            &encrypted,
        ]);
        let pkcs1 = format!("{name}.pkcs1.pem");
        if matches!(key, LeafKey::Rsa(_)) {
            self.openssl(&["rsa", "-in", &key_pem, "-traditional", "-out", &pkcs1]);
        }
        let der = self.openssl_bytes(&["x509", "-in", &certificate_pem, "-outform", "DER"]);
        Leaf {
            name: name.to_owned(),
            certificate_pem: self.path(&certificate_pem),
            key_pem: self.path(&key_pem),
            encrypted_key_pem: self.path(&encrypted),
            pkcs1_key_pem: self.path(&pkcs1),
            pfx: self.path(&pfx),
            legacy_pfx: self.path(&legacy_pfx),
            sha256: super::sha256_hex(&der),
        }
    }

    fn openssl_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "openssl {args:?} failed");
        out.stdout
    }

    /// The issuing CA revokes `leaf` (keyCompromise) and publishes a new CRL.
    pub fn revoke(&self, leaf: &Leaf) {
        let cert = leaf.certificate_pem.to_string_lossy().into_owned();
        self.openssl(&[
            "ca",
            "-config",
            "ca.cnf",
            "-name",
            "CA_inter",
            "-revoke",
            &cert,
            "-crl_reason",
            "keyCompromise",
        ]);
    }

    /// What `openssl verify` says of `leaf` against the chain and the issuing CA's current CRL.
    pub fn verify_with_crl(&self, leaf: &Leaf) -> String {
        self.openssl(&[
            "ca",
            "-config",
            "ca.cnf",
            "-name",
            "CA_inter",
            "-gencrl",
            "-out",
            "inter.crl.pem",
        ]);
        let out = Command::new("openssl")
            .args([
                "verify",
                "-crl_check",
                "-CAfile",
                "root/ca.pem",
                "-untrusted",
                "inter/ca.pem",
            ])
            .args(["-CRLfile", "inter.crl.pem"])
            .arg(&leaf.certificate_pem)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl verify");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// A file beside the CA's (for a test's own variants).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path(name)
    }
}
