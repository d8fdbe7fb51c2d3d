//! Runs docs/WALKTHROUGH.md verbatim against a fresh `atrest serve`.
//!
//! Every ```` ```sh ```` block runs in order in `bash -e`, in a directory holding the server's
//! `atrest-data`, with the variables earlier blocks exported. The fence's info string may say
//! `exit=N` (the block must exit N instead of 0), `needs=vault,accounts,python-sdk` (run only
//! where the server serves those APIs / the Azure SDK is installed; otherwise the block is
//! reported as skipped) or `skip` (shown to readers, never run). `<!-- expect: TEXT -->` lines
//! right after a block must each appear in what the block printed.
//!
//! The server is started with `--vault-alias localhost=demo`, as section 5 asks the reader to
//! do, so the Python SDK reaches the vault, and with a 2-second key check interval.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{call, operator_token, Server};
use reqwest::Method;

struct Block {
    line: usize,
    script: String,
    exit: i32,
    needs: Vec<String>,
    skip: bool,
    expects: Vec<String>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```sh") else {
            i += 1;
            continue;
        };
        let mut block = Block {
            line: i + 1,
            script: String::new(),
            exit: 0,
            needs: Vec::new(),
            skip: false,
            expects: Vec::new(),
        };
        for word in info.split_whitespace() {
            if let Some(code) = word.strip_prefix("exit=") {
                block.exit = code.parse().expect("exit=N");
            } else if let Some(needs) = word.strip_prefix("needs=") {
                block.needs = needs.split(',').map(str::to_owned).collect();
            } else if word == "skip" {
                block.skip = true;
            } else {
                panic!("line {}: unknown fence attribute '{word}'", i + 1);
            }
        }
        i += 1;
        while i < lines.len() && lines[i] != "```" {
            block.script.push_str(lines[i]);
            block.script.push('\n');
            i += 1;
        }
        i += 1;
        while let Some(expect) = lines
            .get(i)
            .and_then(|l| l.strip_prefix("<!-- expect: "))
            .and_then(|l| l.strip_suffix(" -->"))
        {
            block.expects.push(expect.to_owned());
            i += 1;
        }
        out.push(block);
    }
    out
}

/// Whether the server routes `path` (anything but the router's "no such endpoint").
async fn serves(server: &Server, path: &str) -> bool {
    let client = server.client();
    let token = operator_token(server, &client).await;
    let (_, body) = call(
        &client,
        Method::GET,
        &format!("{}{path}", server.url()),
        &token,
        None,
    )
    .await;
    !body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("no such endpoint")
}

fn search_path(root: &Path) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_atrest"));
    let mut dirs = vec![bin.parent().unwrap().to_owned()];
    let venv = root.join(".venv-interop/bin");
    if venv.exists() {
        dirs.push(venv);
    }
    let mut path = std::env::join_paths(dirs).unwrap().into_string().unwrap();
    if let Some(system) = std::env::var_os("PATH") {
        path.push(':');
        path.push_str(&system.to_string_lossy());
    }
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn walkthrough_runs_verbatim() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let markdown = std::fs::read_to_string(root.join("docs/WALKTHROUGH.md")).unwrap();
    let blocks = blocks(&markdown);
    assert!(blocks.len() >= 8, "the walkthrough lost its command blocks");

    let work = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        &work.path().join("atrest-data"),
        &["--vault-alias", "localhost=demo"],
    );
    let none = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x/providers";
    let path = search_path(&root);
    let python_sdk = Command::new("python3")
        .args(["-c", "import azure.identity, azure.keyvault.keys"])
        .env("PATH", &path)
        .output()
        .is_ok_and(|o| o.status.success());
    let available = |need: &str| match need {
        "python-sdk" => python_sdk,
        _ => false,
    };
    let vault = serves(&server, &format!("{none}/Microsoft.KeyVault/vaults")).await;
    let accounts = serves(
        &server,
        &format!("{none}/Microsoft.CognitiveServices/accounts"),
    )
    .await;

    let config_dir = work.path().join("config");
    let (mut ran, mut skipped) = (0, 0);
    for block in &blocks {
        let missing: Vec<&String> = block
            .needs
            .iter()
            .filter(|n| match n.as_str() {
                "vault" => !vault,
                "accounts" => !accounts,
                other => !available(other),
            })
            .collect();
        if block.skip || !missing.is_empty() {
            eprintln!("SKIPPED: WALKTHROUGH.md:{} (needs {missing:?})", block.line);
            skipped += 1;
            continue;
        }
        let script = format!(
            "set -e\n[ -f .walk-env ] && . ./.walk-env\n{}export -p > .walk-env\n",
            block.script
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("ATREST_CONFIG_DIR", &config_dir)
            .env("ATREST_SERVER", server.url())
            .env_remove("ATREST_PROFILE")
            .env_remove("ATREST_SUBSCRIPTION")
            .env_remove("ATREST_OUTPUT")
            .env_remove("ATREST_DATA_DIR")
            .output()
            .expect("run bash");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(block.exit),
            "WALKTHROUGH.md:{}:\n{}\nprinted:\n{printed}",
            block.line,
            block.script
        );
        for expect in &block.expects {
            assert!(
                printed.contains(expect.as_str()),
                "WALKTHROUGH.md:{}: expected '{expect}' in:\n{printed}",
                block.line
            );
        }
        ran += 1;
    }
    eprintln!("walkthrough: {ran} blocks ran, {skipped} skipped");
    assert!(ran >= 3);
}

#[test]
fn fences_parse() {
    let md = "x\n```sh needs=vault exit=5\natrest a\natrest b\n```\n<!-- expect: A -->\n<!-- expect: B -->\n```sh skip\nq\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].script, "atrest a\natrest b\n");
    assert_eq!(
        (b[0].exit, b[0].needs.clone()),
        (5, vec!["vault".to_owned()])
    );
    assert_eq!(b[0].expects, ["A", "B"]);
    assert!(b[1].skip);
}
