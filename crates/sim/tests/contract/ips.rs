//! Identity Provisioning and the Applications API: real-time provisioning on converged and NEO
//! tenants, inbound certificates, jobs and the ZIP job log, proxy systems, cursor paging.

use crate::fixture::{
    ACME, Fx, G_READER, GLOBEX, GLOBEX_CERT, GLOBEX_IPS, JOB, POWER, READER, WEAK,
};
use crate::harness::{self, body, ctype, filter_q, unzip_json};
use mtls_audit_sim::SimOptions;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_provisioning_converged() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.mtls(&fx.lms);
    let url = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/user",
    );
    let users = |fx: &Fx| fx.sim.tenant("ACME").unwrap().users.len();
    let before = users(&fx);
    for payload in [
        "{}",
        "",
        "[]",
        "{\"userName\":\"\"}",
        "not json",
        "{\"userName\":\"x\",\"emails\":[{\"value\":\"nope\"}]}",
    ] {
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
            .unwrap();
        let (s, _, v) = body(r).await;
        assert_eq!(s, 400, "payload {payload:?}: {v}");
        assert_eq!(v["error"]["code"], 400);
    }
    assert_eq!(users(&fx), before, "a 400 changes nothing");
    let r = c
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let new_user = json!({"userName": "learner.new", "emails": [{"value": "learner.new@acme.example"}],
                          "name": {"givenName": "Lea", "familyName": "Rner"}});
    let (s, _, v) = body(c.post(&url).json(&new_user).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (201, Some("Entity Created"))
    );
    assert_eq!(users(&fx), before + 1);
    let q = filter_q(r#"userName eq "learner.new""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={q}"), READER)
            .await,
    )
    .await;
    let ext = &v["Resources"][0]["urn:ietf:params:scim:schemas:extension:sap:2.0:User"];
    assert_eq!(
        (ext["sourceSystem"].as_u64(), ext["sourceSystemId"].as_str()),
        (Some(101), Some("ACME"))
    );
    let (s, _, v) = body(c.post(&url).json(&new_user).send().await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (200, Some("Entity Updated"))
    );
    let (s, _, v) = body(
        c.delete(&url)
            .json(&json!({"userName": "learner.new"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (200, Some("Entity Deleted"))
    );
    assert_eq!(users(&fx), before);

    // Auth and routing errors.
    assert_eq!(
        fx.client()
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let stranger = harness::client_cert(&fx.ca, "Stranger", -1, 100);
    assert_eq!(
        fx.mtls(&stranger)
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = fx
        .client()
        .post(&url)
        .basic_auth(POWER.0, Some(POWER.1))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "power lacks Access Real-Time Provisioning API"
    );
    let other = fx.url(ACME, "/ipsproxy/service/api/v1/systems/nope/entities/user");
    assert_eq!(
        c.post(&other)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let group = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/group",
    );
    assert_eq!(
        c.post(&group)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let target = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-ias/entities/user",
    );
    assert_eq!(
        c.post(&target)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // Converged tenants have no NEO paths.
    let neo = fx.url(ACME, "/ipsproxy/certapi/v1/systems/sys-lms/entities/user");
    assert_eq!(
        c.post(&neo).json(&json!({})).send().await.unwrap().status(),
        404
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neo_differs_from_converged() {
    let fx = Fx::start(SimOptions::default()).await;
    let lms = fx.mtls(&fx.lms);
    // IAS works on the NEO tenant's IAS host.
    assert_eq!(
        lms.get(fx.url(GLOBEX, "/scim/Users?count=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // No tenant admin API and no IPS on the IAS host of a NEO tenant.
    for path in [
        "/ips/service/publicapi/v1/jobLogs/x?action=export&logType=commonLog",
        "/ipsproxy/service/api/v1/systems/sys-neo/entities/user",
    ] {
        let r = fx
            .client()
            .post(fx.url(GLOBEX, path))
            .basic_auth(G_READER.0, Some(G_READER.1))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 405,
            "{path}: {}",
            r.status()
        );
        let r = fx
            .client()
            .get(fx.url(GLOBEX, path))
            .basic_auth(G_READER.0, Some(G_READER.1))
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 405,
            "{path}: {}",
            r.status()
        );
    }
    // The cert host checks the LMS source system's inbound certificates.
    let cert_url = fx.url(
        GLOBEX_CERT,
        "/ipsproxy/certapi/v1/systems/sys-neo/entities/user",
    );
    assert_eq!(
        lms.post(&cert_url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let r = fx
        .mtls(&fx.other)
        .post(&cert_url)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "on the IAS admin record, not among the inbound certificates"
    );
    assert_eq!(
        fx.mtls(&fx.other)
            .get(fx.url(GLOBEX, "/scim/Users?count=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        fx.client()
            .post(&cert_url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let missing = fx.url(
        GLOBEX_CERT,
        "/ipsproxy/certapi/v1/systems/nope/entities/user",
    );
    assert_eq!(
        lms.post(&missing)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let (s, _, v) = body(
        lms.post(&cert_url)
            .json(&json!({"userName": "neo.learner"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["state"].as_str()),
        (201, Some("Entity Created"))
    );
    // The OAuth host serves /ipsproxy/api/v1 to administrators; not certapi, not SCIM.
    let oauth_url = fx.url(GLOBEX_IPS, "/ipsproxy/api/v1/systems/sys-neo/entities/user");
    let r = fx
        .client()
        .post(&oauth_url)
        .basic_auth(G_READER.0, Some(G_READER.1))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = lms
        .post(fx.url(
            GLOBEX_IPS,
            "/ipsproxy/certapi/v1/systems/sys-neo/entities/user",
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = fx.get(GLOBEX_IPS, "/scim/Users", G_READER).await;
    assert_eq!(r.status(), 404);
    // Proxy on NEO: certificate and OAuth doors.
    let r = lms
        .get(fx.url(GLOBEX_CERT, "/ipsproxy/certapi/v1/scim/sys-neo-proxy/Users"))
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!((s.as_u16(), v["itemsPerPage"].as_u64()), (200, Some(25)));
    let r = fx
        .get(
            GLOBEX_IPS,
            "/ipsproxy/api/v1/scim/sys-neo-proxy/Users?count=2",
            G_READER,
        )
        .await;
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["Resources"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_the_zip_job_log() {
    let fx = Fx::start(SimOptions {
        time_scale: 60.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.client();
    let logs = |job: &str, q: &str| {
        fx.url(
            ACME,
            &format!("/ips/service/publicapi/v1/jobLogs/{job}?{q}"),
        )
    };
    let r = c
        .get(logs(JOB, "action=export&logType=commonLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/zip");
    let common = unzip_json(r.bytes().await.unwrap().to_vec());
    assert_eq!(common["status"], "Finished with Error");
    assert_eq!(common["statistics"][0]["failed"], 1);
    let r = c
        .get(logs(JOB, "action=export&logType=failedEntitiesLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    let failed = unzip_json(r.bytes().await.unwrap().to_vec());
    assert_eq!(failed["entities"][0]["entityId"], "lmsuser7");
    for (q, status) in [
        ("logType=commonLog", 400),
        ("action=import&logType=commonLog", 400),
        ("action=export&logType=everything", 400),
    ] {
        let r = c
            .get(logs(JOB, q))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{q}");
        let (_, h, v) = body(r).await;
        assert!(ctype(&h).starts_with("application/json"));
        assert_eq!(v["error"]["code"], status);
    }
    let r = c
        .get(logs(
            "ffffffffffffffffffff",
            "action=export&logType=commonLog",
        ))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(logs(JOB, "action=export&logType=commonLog"))
        .basic_auth(WEAK.0, Some(WEAK.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Start a job; it runs for 30 simulated seconds (0.5 s at 60x), then succeeds.
    let start = |path: &str| fx.url(ACME, path);
    let r = c
        .post(start(
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/READ",
        ))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["status"].as_str(), v["jobType"].as_str()),
        (202, Some("Running"), Some("READ"))
    );
    let id = v["jobId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 20);
    assert!(v["triggeredBy"].as_str().unwrap().contains(READER.0));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = c
        .get(logs(&id, "action=export&logType=commonLog"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unzip_json(r.bytes().await.unwrap().to_vec())["status"],
        "Success"
    );
    let r = c
        .post(start("/ips/publicapi/v1/startJob/sys-lms/jobs/RESYNC"))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the path without /service is accepted too");
    for (path, status) in [
        (
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/SIMULATE",
            400,
        ),
        ("/ips/service/publicapi/v1/startJob/nope/jobs/READ", 404),
        ("/ips/service/publicapi/v1/startJob/sys-ias/jobs/READ", 400),
    ] {
        let r = c
            .post(start(path))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
    let r = c
        .post(start(
            "/ips/service/publicapi/v1/startJob/sys-lms/jobs/READ",
        ))
        .basic_auth(POWER.0, Some(POWER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_cursor_paging_and_proxy_systems() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, h, v) = body(fx.get(ACME, "/Applications/v1/", POWER).await).await;
    assert_eq!(s, 200);
    assert!(ctype(&h).starts_with("application/json"));
    assert_eq!(
        (
            v["totalResults"].as_u64(),
            v["applications"].as_array().unwrap().len()
        ),
        (Some(25), 20)
    );
    let cursor = v["nextCursor"].as_str().unwrap().to_string();
    let (_, _, v) = body(
        fx.get(ACME, &format!("/Applications/v1/?cursor={cursor}"), POWER)
            .await,
    )
    .await;
    assert_eq!(v["applications"].as_array().unwrap().len(), 5);
    assert!(v.get("nextCursor").is_none());
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1/app-03", POWER).await).await;
    assert_eq!(
        (s.as_u16(), v["name"].as_str()),
        (200, Some("Application 3"))
    );
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1", READER).await).await;
    assert_eq!(s, 403);
    assert_eq!(v["error"]["code"], 403, "the non-SCIM error shape");
    let (s, _, v) = body(fx.get(ACME, "/Applications/v1/nope", POWER).await).await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_u64()), (404, Some(404)));

    let (s, _, v) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-proxy/Users", POWER)
            .await,
    )
    .await;
    assert_eq!((s.as_u16(), v["itemsPerPage"].as_u64()), (200, Some(25)));
    assert_eq!(v["Resources"].as_array().unwrap().len(), 25);
    let (s, _, _) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-lms/Users", POWER)
            .await,
    )
    .await;
    assert_eq!(s, 404, "not a proxy system");
    let (s, _, _) = body(
        fx.get(
            ACME,
            "/ipsproxy/service/api/v1/scim/sys-proxy/Users",
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);
    fx.stop().await;
}
