//! Secrets (client secrets, tokens, Basic values, private keys) never appear in errors, Debug
//! output or trace logs.

use super::{
    HOST, basic_of, client_leaf, closed_port, config, fixture, http_server, identity, oauth_cred,
    oauth_server, reply, url,
};
use mtls_audit::net::{
    Auth, Call, ConnectTo, Credential, CredentialKind, NetClient, NetError, Secret,
};
use std::sync::{Arc, Mutex};

const SECRETS: [&str; 3] = ["basic-secret", "oauth-secret", "tok-"];

fn assert_no_secret(text: &str, key_pem: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{s:?} leaked into:\n{text}");
    }
    assert!(
        !text.contains(&basic_of("8f7d", "basic-secret")[6..]),
        "Basic value leaked:\n{text}"
    );
    assert!(
        !text.contains(&basic_of("cid", "oauth-secret")[6..]),
        "Basic value leaked:\n{text}"
    );
    for line in key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "key material leaked:\n{text}");
    }
    assert!(
        !text.contains("PRIVATE KEY"),
        "key material leaked:\n{text}"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let f = fixture();
    let lms_leaf = client_leaf(&f.ca, "LMS");
    let lms = identity(&lms_leaf, "LMS");
    let basic = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    let mut texts = vec![
        format!("{basic:?}"),
        format!("{lms:?}"),
        format!("{:?}", oauth_cred("oauth-secret")),
        format!(
            "{:?}",
            Call::get(&url("/x"))
                .unwrap()
                .auth(Auth::Credential(basic.clone()))
        ),
    ];
    let mut errors: Vec<NetError> = Vec::new();
    // Unreachable with a Basic credential and with an identity.
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&f.ca, Some(refused))).unwrap();
    for auth in [Auth::Credential(basic.clone()), Auth::Identity(lms.clone())] {
        errors.push(
            client
                .send(Call::get(&url("/scim/Users")).unwrap().auth(auth))
                .await
                .unwrap_err(),
        );
    }
    // Token refused, and a token endpoint answering garbage.
    let (respond, _) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let wrong = Arc::new(Credential::new(
        "acme-oauth",
        CredentialKind::OAuth {
            client_id: "cid".into(),
            secret: Secret::new("oauth-secret-wrong"),
        },
    ));
    errors.push(
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(wrong)),
            )
            .await
            .unwrap_err(),
    );
    let garbage = http_server(
        &f.tls,
        Box::new(|_, _| reply(200).body(r#"{"access_token": 1, "note": "tok-9 oauth-secret"}"#)),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(garbage.connect_to()))).unwrap();
    errors.push(
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(oauth_cred("oauth-secret"))),
            )
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(errors[3], NetError::TokenUnusable { .. }),
        "{:?}",
        errors[3]
    );
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    assert_no_secret(&texts.join("\n"), &lms_leaf.key_pem);
}

/// A `MakeWriter` collecting everything a subscriber writes.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_appear_in_trace_logs() {
    use tracing_subscriber::util::SubscriberInitExt;
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    // With a single registered dispatcher, tracing decides a callsite's interest from the
    // default of whichever thread hits it first, so another test thread would cache "not
    // interested" for callsites this test needs. A second registered dispatcher makes tracing
    // ask every registered dispatcher instead; it is never anyone's default.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    // Thread-local: this test's single-threaded runtime runs the client, the connections
    // and the servers on this thread, so all of them log into the buffer.
    let _guard = subscriber.set_default();

    let f = fixture();
    let (respond, _) = oauth_server(3600, |n, _| n >= 2);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let basic = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    let lms_leaf = client_leaf(&f.ca, "LMS");
    // Callsites other threads registered before the dispatchers above keep a stale "not
    // interested": recompute now that every concurrent registration has finished.
    tracing::callsite::rebuild_interest_cache();
    let calls = [
        Auth::Credential(oauth_cred("oauth-secret")),
        Auth::Credential(basic),
        Auth::Identity(identity(&lms_leaf, "LMS")),
    ];
    for auth in calls {
        client
            .send(Call::get(&url("/scim/Users?filter=x")).unwrap().auth(auth))
            .await
            .unwrap();
    }
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("mtls_audit::net::client: request"),
        "the request lines were logged:\n{log}"
    );
    assert!(log.contains("/scim/Users"), "{log}");
    assert!(log.contains("/oauth2/token"), "{log}");
    assert!(
        !log.contains("filter=x"),
        "no query strings in logs:\n{log}"
    );
    assert_no_secret(&log, &lms_leaf.key_pem);
}

/// docs/spec.md §12: a server whose 401 answer echoes our `Authorization` header (in the body,
/// in `X-message-code`, decoded or not) gets none of it into any report or onto the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_our_credentials_gets_none_of_them_into_the_reports() {
    use crate::harness::TestDir;
    const ID: &str = "9a8b7c6d-echo-client";
    const SECRET: &str = "Echo-Secret-4711-xyz";
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|s, _| {
            let authz = s.authorization.clone().unwrap_or_default();
            reply(401)
                .header("content-type", "application/scim+json")
                .header("x-message-code", format!("INVALID {authz}"))
                .body(format!(
                    "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"401\",\"detail\":\"Credentials {authz} (client_id={ID}, client_secret={SECRET}) are not valid: {SECRET} / {ID}\"}}"
                ))
        }),
    )
    .await;
    let dir = TestDir::new();
    dir.write("ca.pem", &f.ca.cert.cert_pem);
    dir.write(
        "credentials.toml",
        format!(
            "[credential.acme]\nclient_id = \"{ID}\"\nclient_secret_env = \"ECHO_SECRET\"\nauth = \"basic\"\n"
        ),
    );
    dir.write(
        "inventory.csv",
        format!("tenant_id,ips_type,ias_url,credential\nACME,converged,https://{HOST},acme\n"),
    );
    let port = http.port;
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
            .args([
                "audit",
                "inventory.csv",
                "--credentials",
                "credentials.toml",
                "--ca-cert",
                "ca.pem",
                "--connect-to",
                &format!("127.0.0.1:{port}"),
                "--out",
                "out",
                "--format",
                "table,csv,json,html,md",
                "--retries",
                "0",
                "-vv",
            ])
            .current_dir(path)
            .env("ECHO_SECRET", SECRET)
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let mut haystack = String::from_utf8_lossy(&out.stdout).into_owned();
    haystack.push_str(&String::from_utf8_lossy(&out.stderr));
    for file in ["audit.json", "report.html", "report.md", "audit.csv"] {
        haystack.push_str(&dir.read(&format!("out/{file}")));
    }
    assert!(
        http.seen().iter().any(|s| s.authorization.is_some()),
        "the server saw our credential"
    );
    let audit = dir.read("out/audit.json");
    assert!(audit.contains("API_AUTH_FAILED"), "{audit}");
    assert!(
        audit.contains("not valid"),
        "the detail is still reported: {audit}"
    );
    let basic = basic_of(ID, SECRET);
    for leak in [SECRET, ID, &basic[6..]] {
        assert!(
            !haystack.contains(leak),
            "{leak:?} leaked into the output:\n{haystack}"
        );
    }
}
