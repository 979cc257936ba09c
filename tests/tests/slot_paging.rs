//! Slot listings larger than a frame arrive page by page, complete and in name order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_client::{Algorithm, GenerateKeyParams, KeyOperationPermission};
use warden_e2e::{Daemon, DaemonOptions};

#[test]
fn listing_pages_through_more_slots_than_fit_in_a_frame() {
    // 4 KiB frames: about 30 entries a page, so 120 slots need several pages.
    let d = Daemon::start_with(DaemonOptions {
        config_toml: Some("[limits]\nmax_frame_size = 4096\narena_bytes = 65536\n".into()),
        ..DaemonOptions::default()
    })
    .unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let params = GenerateKeyParams::builder()
        .algorithm(Algorithm::HmacKey)
        .key_len(32)
        .permissions(KeyOperationPermission::MAC)
        .build()
        .unwrap();
    let mut want: Vec<String> = (0..120).map(|i| format!("page.slot-{i:03}")).collect();
    for name in &want {
        km.generate_key_into(name, &params).unwrap();
    }
    want.sort();
    let got: Vec<String> = km
        .list_slots()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(got, want);
    // Several pages were needed: the daemon counts every request, and between the two status
    // requests there is only the listing (plus the first status request itself).
    let before = stack.status().unwrap().requests_served;
    km.list_slots().unwrap();
    let after = stack.status().unwrap().requests_served;
    let pages = after - before - 1;
    assert!(pages >= 3, "one listing took {pages} requests");
}
