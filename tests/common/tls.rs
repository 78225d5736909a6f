//! Test certificates made in the test (rcgen): a CA and a server certificate it signs
//! for `localhost` and `127.0.0.1`, written as PEM files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub struct TestPki {
    pub ca_pem: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A key that is not the certificate's (for the mismatch error).
    pub other_key: PathBuf,
}

pub fn generate(dir: &Path) -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tradpal test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let pki = TestPki {
        ca_pem: ca.pem(),
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        other_key: dir.join("other-key.pem"),
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    std::fs::write(&pki.cert, leaf.pem()).unwrap();
    std::fs::write(&pki.key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&pki.other_key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    pki
}
