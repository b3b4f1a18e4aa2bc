//! Leaf selection: the certificate that issues no other one, in any order, with duplicates
//! and cross-certificates; between unrelated leaves, the split rule.

use crate::harness::*;

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x.clone());
            out.push(p);
        }
    }
    out
}

#[test]
fn the_leaf_is_found_in_any_order_with_duplicates_and_cross_signs() {
    let c = chain();
    let other_root = root("Other Root");
    let cross = cross_sign(&c.int, &other_root);
    let sets: Vec<Vec<&Node>> = vec![
        vec![&c.leaf, &c.int, &c.root],
        vec![&c.leaf, &c.int, &c.int, &c.root, &c.leaf],
        vec![&cross, &c.leaf, &c.root, &c.int, &other_root],
    ];
    for set in &sets {
        for order in permutations(set) {
            let pem: String = order.iter().map(|n| n.pem.as_str()).collect();
            let b = ok(pem.as_bytes());
            assert_eq!(
                leaf_of(&b),
                LEAF,
                "order {:?}",
                b.certs.iter().map(|c| &c.subject).collect::<Vec<_>>()
            );
            let der: Vec<u8> = order.iter().flat_map(|n| n.der.clone()).collect();
            assert_eq!(leaf_of(&ok(&der)), LEAF);
        }
    }
    // Duplicates are dropped with a note.
    let dup = format!("{}{}{}", c.leaf.pem, c.int.pem, c.leaf.pem);
    let b = ok(dup.as_bytes());
    assert_eq!(b.certs.len(), 2);
    assert!(
        b.notes.iter().any(|n| n.contains("duplicate")),
        "{:?}",
        b.notes
    );
}

#[test]
fn two_unrelated_leaves_follow_the_split_rule() {
    let r1 = root("Root One");
    let r2 = root("Root Two");
    let early = issue(&r1, "Early", false, 100);
    let late = issue(&r2, "Late", false, 300);
    let pem = format!("{}{}{}{}", early.pem, r1.pem, late.pem, r2.pem);
    let b = ok(pem.as_bytes());
    let candidates: Vec<String> = b
        .leaf_candidates()
        .iter()
        .map(|&i| b.certs[i].subject.clone())
        .collect();
    assert_eq!(candidates.len(), 2, "{candidates:?}");
    // Without a preference the one that expires last wins …
    assert_eq!(b.split(|_| false).0.subject, "CN=Late,O=Chain Test");
    // … and a preferred one (e.g. the reference certificate) beats it.
    let (leaf, chain) = b.split(|c| c.subject.starts_with("CN=Early"));
    assert_eq!(leaf.subject, "CN=Early,O=Chain Test");
    assert_eq!(chain.len(), 3);
}
