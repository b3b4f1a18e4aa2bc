//! The offline audit end to end through the binary.

use crate::harness::*;

#[test]
fn rows_in_equal_tenants_out_plus_errors() {
    let t = TestDir::new();
    let ca = ca();
    let good = client_cert(&ca, "LMS", -30, 335);
    t.write("certs/good.pem", &good.cert_pem);
    t.write(
        "inv.csv",
        "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert\nA,neo,certs/good.pem,certs/good.pem\nB,converged,certs/good.pem,\n,neo,,\nA,neo,,\nC,cloud,,\n",
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--out",
        "out",
    ]);
    r.expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&t.read("out/audit.json")).unwrap();
    let tenants = json["tenants"].as_array().unwrap().len();
    let errors = json["inventory_errors"].as_array().unwrap().len();
    assert_eq!(json["summary"]["rows"], 5);
    assert_eq!(tenants + errors, 5, "{json:#}");
    assert_eq!(tenants, 2);
}
