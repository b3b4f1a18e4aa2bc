//! Command-line behaviour: exit codes, formats, help.

use crate::harness::*;

#[test]
fn missing_inventory_is_exit_2_and_names_the_file() {
    let t = TestDir::new();
    let r = t.run(&["audit", "nope.csv", "--offline"]);
    r.expect_code(2);
    assert!(r.stderr().contains("nope.csv"), "{}", r.describe());
}

#[test]
fn bad_option_values_are_exit_2() {
    let t = TestDir::new();
    t.write("inv.csv", "tenant_id,ips_type\nA,neo\n");
    for args in [
        &["audit", "inv.csv", "--as-of", "07.08.2025"][..],
        &["audit", "inv.csv", "--fail-on", "sometimes"][..],
        &["audit", "inv.csv", "--format", "pdf"][..],
        &[
            "audit",
            "inv.csv",
            "--critical-days",
            "40",
            "--warn-days",
            "30",
        ][..],
    ] {
        let r = t.run(args);
        r.expect_code(2);
    }
}
