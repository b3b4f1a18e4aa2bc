//! Test harness of the contract tests: a temp dir per test, certificates made with rcgen at test
//! time around a fixed date, HTTP helpers whose failures show the answer, and a TLS peek at
//! the certificate a host presents.

use chrono::{DateTime, Duration, Utc};
use mtls_audit_sim::pki::{self, Ca, Issued, LeafSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Installs the ring provider once per test process (rustls needs one installed).
pub(crate) fn crypto() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A fixed as-of time so certificate dates are reproducible.
pub(crate) fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-07-15T00:00:00Z")
        .expect("constant date parses")
        .with_timezone(&Utc)
}

pub(crate) fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A per-test working folder, removed when the test ends.
pub(crate) struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> TestDir {
        crypto();
        let dir = tempfile::Builder::new()
            .prefix("mtls-audit-sim-test-")
            .tempdir()
            .expect("temp dir");
        TestDir { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads a file of the folder; a failure lists what is there.
    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}\nfiles: {:?}", self.listing()))
    }

    /// Every file under the folder, relative and sorted.
    pub(crate) fn listing(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p: PathBuf = e.path();
                    if p.is_dir() {
                        walk(base, &p, out);
                    } else {
                        out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), self.path(), &mut out);
        out.sort();
        out
    }
}

/// A test CA valid around the fixed as-of date.
pub(crate) fn ca() -> Ca {
    crypto();
    Ca::new("Test Root CA", as_of() - days(3650), as_of() + days(3650)).expect("CA")
}

/// A client leaf valid from `from` to `to` days relative to the fixed as-of date.
pub(crate) fn client_cert(ca: &Ca, cn: &str, from: i64, to: i64) -> Issued {
    ca.issue(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("issue leaf")
}

/// A self-signed client leaf.
pub(crate) fn self_signed(cn: &str, from: i64, to: i64) -> Issued {
    crypto();
    pki::self_signed(&LeafSpec::client(
        cn,
        as_of() + days(from),
        as_of() + days(to),
    ))
    .expect("self-signed")
}

/// Status, headers and JSON body of an answer; a body that is not JSON fails with its text.
pub(crate) async fn body(r: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let s = r.status();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{s}: not JSON ({e}): {text}"));
    (s, h, v)
}

/// Asserts SAP's SCIM error shape with `status` (a string, as IAS sends it).
pub(crate) fn scim_error(v: &Value, status: &str) {
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{v}"
    );
    assert_eq!(v["status"], status, "status is a string: {v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
}

pub(crate) fn ctype(h: &reqwest::header::HeaderMap) -> &str {
    h.get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A SCIM filter, percent-encoded for a query string.
pub(crate) fn filter_q(f: &str) -> String {
    let mut s = String::new();
    for b in f.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The one JSON file of a job-log ZIP.
pub(crate) fn unzip_json(bytes: Vec<u8>) -> Value {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    assert_eq!(z.len(), 1);
    let mut f = z.by_index(0).unwrap();
    let name = f.name().unwrap().to_string();
    assert!(
        name.starts_with("ips_job") && name.ends_with(".json"),
        "{name}"
    );
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    serde_json::from_str(&s).unwrap()
}

/// Sends `n` requests with up to `parallel` at a time and returns their statuses and the
/// Retry-After values of the 429s.
pub(crate) async fn burst<F, Fut>(n: usize, parallel: usize, f: F) -> (Vec<u16>, Vec<u64>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = reqwest::Response> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let fut = f(i);
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            let ra = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            (r.status().as_u16(), ra)
        });
    }
    let mut statuses = Vec::new();
    let mut retry = Vec::new();
    while let Some(res) = set.join_next().await {
        let (s, ra) = res.unwrap();
        statuses.push(s);
        retry.extend(ra);
    }
    (statuses, retry)
}

pub(crate) fn count(v: &[u16], s: u16) -> usize {
    v.iter().filter(|&&x| x == s).count()
}

/// `.send()` futures, boxed into `'static` ones that panic on transport errors.
pub(crate) trait MapOk {
    fn map_ok(self) -> std::pin::Pin<Box<dyn Future<Output = reqwest::Response> + Send>>;
}

impl<F> MapOk for F
where
    F: Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    fn map_ok(self) -> std::pin::Pin<Box<dyn Future<Output = reqwest::Response> + Send>> {
        Box::pin(async move { self.await.expect("request") })
    }
}

/// What a test needs to know about a certificate a server presented.
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    pub(crate) dns_names: Vec<String>,
    pub(crate) not_after: DateTime<Utc>,
    pub(crate) issuer: String,
}

impl Presented {
    fn from_der(der: &[u8]) -> Presented {
        let (_, cert) = x509_parser::parse_x509_certificate(der).expect("an X.509 certificate");
        let dns_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Presented {
            dns_names,
            not_after: DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
                .expect("a representable date"),
            issuer: cert.issuer().to_string(),
        }
    }
}

/// The chain a server at `addr` presents for `sni`, read without validating it; `Err` with the
/// handshake error when the server refuses.
pub(crate) async fn presented(
    addr: std::net::SocketAddr,
    sni: &str,
) -> Result<Vec<Presented>, String> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    #[derive(Debug)]
    struct Record(
        std::sync::Mutex<Vec<Vec<u8>>>,
        Arc<rustls::crypto::CryptoProvider>,
    );
    impl ServerCertVerifier for Record {
        fn verify_server_cert(
            &self,
            ee: &CertificateDer<'_>,
            im: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let mut v = self.0.lock().unwrap();
            v.push(ee.to_vec());
            v.extend(im.iter().map(|c| c.to_vec()));
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.1.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.1.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rec = Arc::new(Record(Default::default(), provider.clone()));
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(rec.clone())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let ders = rec.0.lock().unwrap().clone();
    Ok(ders.iter().map(|d| Presented::from_der(d)).collect())
}
