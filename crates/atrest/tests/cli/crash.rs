//! `kill -9` during uploads: every upload the server acknowledged is there after a restart,
//! byte for byte; none that was cut off is visible, half or whole-but-wrong; the audit chain
//! still verifies.

use std::collections::BTreeMap;

use crate::common::Server;
use crate::support::*;

#[test]
fn kill_9_loses_no_acknowledged_upload_and_shows_no_partial_one() {
    let server = Server::start(&[]);
    let user = customer_with_key(&server);
    user.ok(&[
        "account",
        "create",
        "lang",
        "--kind",
        "TextAnalytics",
        "--location",
        "westeurope",
    ]);
    let files: Vec<(String, Vec<u8>)> = (0..8u8)
        .map(|i| {
            let bytes: Vec<u8> = (0..(3 << 20) + u32::from(i))
                .map(|j| (j as u8) ^ i)
                .collect();
            (format!("obj{i}"), bytes)
        })
        .collect();
    for (name, bytes) in &files {
        std::fs::write(user.file(name), bytes).unwrap();
    }

    // Eight concurrent uploads; the server dies as soon as the first one is acknowledged.
    let acknowledged: BTreeMap<String, bool> = std::thread::scope(|scope| {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for (name, _) in &files {
            let (user, done_tx) = (&user, done_tx.clone());
            scope.spawn(move || {
                let path = user.file(name);
                let run = user.run(&[
                    "data",
                    "upload",
                    "lang",
                    path.to_str().unwrap(),
                    "--name",
                    name,
                    "-o",
                    "json",
                ]);
                let _ = done_tx.send((name.clone(), run.code == 0));
            });
        }
        drop(done_tx);
        let mut results = BTreeMap::new();
        let first = done_rx.recv().unwrap();
        let pid = server.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        results.insert(first.0, first.1);
        for (name, ok) in done_rx {
            results.insert(name, ok);
        }
        results
    });
    eprintln!("acknowledged before the kill: {acknowledged:?}");
    assert!(
        acknowledged.values().any(|ok| *ok),
        "at least the first upload was acknowledged before the kill"
    );

    let _restarted = Server::start_on(&server.data_dir, &format!("127.0.0.1:{}", server.port), &[]);
    let listed = user.ok(&["data", "list", "lang"]).to_string();
    for (name, bytes) in &files {
        let copy = user.file(&format!("{name}.copy"));
        let run = user.run(&[
            "data",
            "download",
            "lang",
            name,
            "--file",
            copy.to_str().unwrap(),
            "--force",
        ]);
        if acknowledged[name] {
            assert_eq!(run.code, 0, "acknowledged {name} is lost: {}", run.stderr);
        }
        if run.code == 0 {
            assert!(listed.contains(name.as_str()));
            assert_eq!(
                &std::fs::read(&copy).unwrap(),
                bytes,
                "{name} reads back other bytes"
            );
        } else {
            assert_eq!(run.code, 3, "{name}: {}", run.stderr);
            assert!(!listed.contains(&format!("\"{name}\"")), "{listed}");
        }
    }
    let operator = User::new(&server);
    operator.login_operator();
    assert_eq!(operator.ok(&["audit", "verify"])["verified"], true);
}
