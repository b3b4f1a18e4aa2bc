//! Property tests: random bytes, random bytes in PEM armour and mutated valid inputs (DER,
//! PKCS#7, zip, zip of a zip, PEM) never make the loader panic.

use crate::harness::*;
use mtls_audit_cert::{Limits, LoadError, load_bytes};
use proptest::prelude::*;
use std::sync::OnceLock;
use zip::CompressionMethod;

struct Samples {
    der: Vec<u8>,
    p7: Vec<u8>,
    zip: Vec<u8>,
    zip_of_zip: Vec<u8>,
    pem: Vec<u8>,
}

fn samples() -> &'static Samples {
    static S: OnceLock<Samples> = OnceLock::new();
    S.get_or_init(|| {
        let t = TestDir::new();
        let c = chain();
        let p7 = pkcs7_of(&t, &[c.leaf.pem.as_str(), c.int.pem.as_str()], true);
        let zip = zip_of(
            &[
                ("a.pem", c.leaf.pem.as_bytes()),
                ("b.der", &c.int.der),
                ("c.p7b", &p7),
            ],
            CompressionMethod::Deflated,
        );
        let zip_of_zip = zip_of(&[("in.zip", &zip)], CompressionMethod::Stored);
        Samples {
            der: c.leaf.der.clone(),
            p7,
            zip,
            zip_of_zip,
            pem: format!("{}{}", c.leaf.pem, c.int.pem).into_bytes(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = load_bytes(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes_in_pem_armour_never_panic(
        label in prop::sample::select(vec!["CERTIFICATE", "PKCS7", "TRUSTED CERTIFICATE", "X509 CERTIFICATE", "CMS", "PRIVATE KEY", "WHATEVER"]),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        raw in any::<bool>(),
    ) {
        use base64::Engine;
        let inner = if raw {
            String::from_utf8_lossy(&body).into_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(&body)
        };
        let text = format!("-----BEGIN {label}-----\n{inner}\n-----END {label}-----\n");
        let r = load_bytes(text.as_bytes(), &Limits::default());
        if label == "PRIVATE KEY" {
            prop_assert_eq!(r.unwrap_err(), LoadError::PrivateKeyOnly);
        }
    }

    #[test]
    fn mutated_valid_inputs_never_panic(
        which in 0..5usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let s = samples();
        let mut bytes = [&s.der, &s.p7, &s.zip, &s.zip_of_zip, &s.pem][which].clone();
        for (at, v) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= v | 1;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        if let Ok(b) = load_bytes(&bytes, &Limits::default()) {
            prop_assert!(!b.certs.is_empty());
            let _ = b.split(|_| false);
        }
    }
}
