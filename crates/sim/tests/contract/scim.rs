//! Identity Directory SCIM: list paging and headers, filters, single users and groups, writes.

use crate::fixture::{ACME, Fx, LMS_USERS, POWER, READER};
use crate::harness::{as_of, body, ctype, days, filter_q, scim_error};
use mtls_audit_sim::{SimOptions, TEST_USER};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_list_pages_and_headers_like_ias() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, h, v) = body(fx.get(ACME, "/scim/Users", READER).await).await;
    assert_eq!(s, 200);
    assert_eq!(ctype(&h), "application/scim+json");
    assert_eq!(h.get("cache-control").unwrap(), "private,no-cache,no-store");
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let total = LMS_USERS + 1 + 3;
    assert_eq!(v["totalResults"], total);
    assert_eq!(
        (v["itemsPerPage"].as_u64(), v["startIndex"].as_u64()),
        (Some(100), Some(1))
    );
    assert_eq!(v["Resources"].as_array().unwrap().len(), 100);
    let u = &v["Resources"][0];
    assert_eq!(u["userName"], "user001");
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(
        u["meta"]["location"],
        format!("https://{ACME}/scim/Users/{}", u["id"].as_str().unwrap())
    );
    assert_eq!(u["meta"]["groups.cnt"], 2);
    assert!(u["meta"]["created"].as_str().unwrap().ends_with('Z'));
    let ext = &u["urn:ietf:params:scim:schemas:extension:sap:2.0:User"];
    assert_eq!(
        (ext["sourceSystem"].as_u64(), ext["sourceSystemId"].as_str()),
        (Some(101), Some("ACME"))
    );
    assert_eq!(ext["userUuid"], u["id"]);

    // Index paging: the second page, counts capped at 100, count=0 for the total only.
    let (_, _, v) = body(
        fx.get(ACME, "/scim/Users?startIndex=101&count=50", READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"].as_array().unwrap().len(), total - 100);
    assert_eq!(v["startIndex"], 101);
    let (_, _, v) = body(fx.get(ACME, "/scim/Users?count=1000", READER).await).await;
    assert_eq!(v["Resources"].as_array().unwrap().len(), 100);
    let (_, _, v) = body(fx.get(ACME, "/scim/Users?count=0", READER).await).await;
    assert_eq!(
        (
            v["totalResults"].as_u64(),
            v["Resources"].as_array().unwrap().len()
        ),
        (Some(total as u64), 0)
    );
    let (s, _, v) = body(fx.get(ACME, "/scim/Users?count=lots", READER).await).await;
    assert_eq!(s, 400);
    scim_error(&v, "400");

    // Cursor paging visits every user once.
    let mut seen = std::collections::HashSet::new();
    let mut start = "initial".to_string();
    for _ in 0..20 {
        let (_, _, v) = body(
            fx.get(
                ACME,
                &format!("/scim/Users?startId={start}&count=40"),
                READER,
            )
            .await,
        )
        .await;
        for r in v["Resources"].as_array().unwrap() {
            assert!(seen.insert(r["id"].as_str().unwrap().to_string()));
        }
        match v["nextId"].as_str() {
            Some(n) => start = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_filters_single_users_and_groups() {
    let fx = Fx::start(SimOptions::default()).await;
    let lms = filter_q(
        r#"urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystem eq 101 and urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystemId eq "ACME""#,
    );
    let (s, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={lms}"), READER)
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["totalResults"], LMS_USERS + 1);
    let short = filter_q(r#"sourceSystem eq 100 and sourceSystemId eq "acmeprod""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={short}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["totalResults"], 3);
    let test_user = filter_q(&format!(r#"userName eq "{}""#, TEST_USER));
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={test_user}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0]["userName"], TEST_USER);
    let mail = filter_q(r#"emails.value eq "USER042@acme.example""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={mail}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"][0]["userName"], "user042");
    let recent = filter_q(&format!(
        r#"meta.lastModified gt "{}" and sourceSystemId eq "ACME""#,
        (as_of() - days(2)).format("%Y-%m-%dT%H:%M:%SZ")
    ));
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Users?filter={recent}"), READER)
            .await,
    )
    .await;
    // Users n % 5 in {0, 1} were modified 0 or 1 days ago.
    let want = (1..=LMS_USERS).filter(|n| n % 5 < 2).count();
    assert_eq!(v["totalResults"], want);
    for bad in [
        r#"userName eq"#,
        r#"userName like "x""#,
        r#"nickName eq "x""#,
    ] {
        let (s, _, v) = body(
            fx.get(
                ACME,
                &format!("/scim/Users?filter={}", filter_q(bad)),
                READER,
            )
            .await,
        )
        .await;
        assert_eq!(s, 400, "{bad}");
        scim_error(&v, "400");
        assert_eq!(v["scimType"], "invalidFilter");
    }

    let id = "00000000-0000-4000-8000-000000000007";
    let (s, _, v) = body(fx.get(ACME, &format!("/scim/Users/{id}"), READER).await).await;
    assert_eq!((s.as_u16(), v["userName"].as_str()), (200, Some("user007")));
    let (s, _, v) = body(
        fx.get(
            ACME,
            "/scim/Users/af2f7963-0000-0000-0000-000000000000",
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(s, 404);
    scim_error(&v, "404");
    assert_eq!(
        v["detail"],
        "User af2f7963-0000-0000-0000-000000000000 not found"
    );

    let (_, _, v) = body(fx.get(ACME, "/scim/Groups", READER).await).await;
    assert_eq!(v["totalResults"], 2);
    assert_eq!(v["Resources"][0]["members"][0]["type"], "User");
    let q = filter_q(r#"displayName eq "All Employees""#);
    let (_, _, v) = body(
        fx.get(ACME, &format!("/scim/Groups?filter={q}"), READER)
            .await,
    )
    .await;
    assert_eq!(v["Resources"][0]["id"], "g-all");
    let (s, _, v) = body(fx.get(ACME, "/scim/Groups/g-admins", READER).await).await;
    assert_eq!(
        (s.as_u16(), v["displayName"].as_str()),
        (200, Some("Learning Administrators"))
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_writes_need_manage_users() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let url = fx.url(ACME, "/scim/Users");
    let new = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.hire",
                     "emails": [{"value": "new.hire@acme.example"}]});
    let post = |cred: (&'static str, &'static str), ctype: &'static str, body: String| {
        c.post(&url)
            .basic_auth(cred.0, Some(cred.1))
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let (s, _, v) = body(
        post(READER, "application/scim+json", new.to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403, "Read Users cannot write");
    scim_error(&v, "403");
    let r = post(POWER, "text/plain", new.to_string()).await.unwrap();
    assert_eq!(r.status(), 415);
    let (s, _, v) = body(
        post(POWER, "application/scim+json", "{}".to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let r = post(POWER, "application/scim+json", new.to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (_, _, v) = body(r).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("https://{ACME}/scim/Users/{id}"));
    assert_eq!(v["meta"]["created"], v["meta"]["lastModified"]);
    let (s, _, v) = body(
        post(POWER, "application/scim+json", new.to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    assert_eq!(
        fx.get(ACME, &format!("/scim/Users/{id}"), READER)
            .await
            .status(),
        200
    );
    let del = |cred: (&'static str, &'static str)| {
        c.delete(fx.url(ACME, &format!("/scim/Users/{id}")))
            .basic_auth(cred.0, Some(cred.1))
            .send()
    };
    assert_eq!(del(READER).await.unwrap().status(), 403);
    assert_eq!(del(POWER).await.unwrap().status(), 204);
    assert_eq!(del(POWER).await.unwrap().status(), 404);
    assert_eq!(
        fx.get(ACME, &format!("/scim/Users/{id}"), READER)
            .await
            .status(),
        404
    );
    // Replacing a user that is not there.
    let r = c
        .put(fx.url(ACME, "/scim/Users/x"))
        .basic_auth(POWER.0, Some(POWER.1))
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    fx.stop().await;
}
