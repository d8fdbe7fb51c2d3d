//! Runs the README's walkthrough verbatim against a fresh `atrest serve`.
//!
//! Every ```` ```sh ```` block of the README's "Walkthrough" section runs in order in
//! `bash -e`, in a directory holding the server's `atrest-data`, with the variables earlier
//! blocks exported. The fence's info string may say `exit=N` (the block must exit N instead of
//! 0), `restart` (the block is the reader's `cargo run … -- serve ARGS`: the test stops the
//! server and starts it again on the same data directory and port with those ARGS) or `skip`
//! (shown to readers, never run). `<!-- expect: TEXT -->` lines right after a block must each
//! appear in what the block printed.
//!
//! The Python block needs the official Azure SDK, which `scripts/setup-interop` installs into
//! `.venv-interop` (the test puts it first on `PATH`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

/// The command a reader types to start the server; a `restart` block must begin with it.
const SERVE: &str = "cargo run --release -p atrest -- serve";

struct Block {
    line: usize,
    script: String,
    exit: i32,
    restart: bool,
    skip: bool,
    expects: Vec<String>,
}

/// The walkthrough: the README from its "## Walkthrough" heading to the next `## ` heading.
/// Returns the section and the README line it starts on.
fn walkthrough_section(readme: &str) -> (String, usize) {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("## Walkthrough"))
        .expect("README.md has no '## Walkthrough' section");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |i| start + 1 + i);
    (lines[start..end].join("\n"), start)
}

fn blocks(markdown: &str, first_line: usize) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```sh") else {
            i += 1;
            continue;
        };
        let mut block = Block {
            line: first_line + i + 1,
            script: String::new(),
            exit: 0,
            restart: false,
            skip: false,
            expects: Vec::new(),
        };
        for word in info.split_whitespace() {
            if let Some(code) = word.strip_prefix("exit=") {
                block.exit = code.parse().expect("exit=N");
            } else if word == "restart" {
                block.restart = true;
            } else if word == "skip" {
                block.skip = true;
            } else {
                panic!("README.md:{}: unknown fence attribute '{word}'", block.line);
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

/// The `serve` arguments of a `restart` block.
fn serve_args(block: &Block) -> Vec<String> {
    let command = block.script.trim();
    let args = command.strip_prefix(SERVE).unwrap_or_else(|| {
        panic!(
            "README.md:{}: a restart block must be `{SERVE} …`, got `{command}`",
            block.line
        )
    });
    args.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn walkthrough_runs_verbatim() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (section, first_line) = walkthrough_section(&readme);
    let blocks = blocks(&section, first_line);
    assert!(
        blocks.len() >= 10,
        "the walkthrough lost its command blocks"
    );

    let path = search_path(&root);
    let python_sdk = Command::new("python3")
        .args(["-c", "import azure.identity, azure.keyvault.keys"])
        .env("PATH", &path)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        python_sdk,
        "the walkthrough's Python block needs the Azure SDK: run scripts/setup-interop first"
    );

    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("atrest-data");
    let mut server = Server::start_in(&data_dir, &[]);
    let config_dir = work.path().join("config");
    for block in blocks.iter().filter(|b| !b.skip) {
        if block.restart {
            let listen = format!("127.0.0.1:{}", server.port);
            let args = serve_args(block);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(server.stop().success(), "the server did not stop cleanly");
            server = Server::start_on(&data_dir, &listen, &args);
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
            .env_remove("REQUESTS_CA_BUNDLE")
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
            "README.md:{}:\n{}\nprinted:\n{printed}",
            block.line,
            block.script
        );
        for expect in &block.expects {
            assert!(
                printed.contains(expect.as_str()),
                "README.md:{}: expected '{expect}' in:\n{printed}",
                block.line
            );
        }
    }
}

#[test]
fn fences_parse() {
    let md = "## Walkthrough\nx\n```sh exit=5\natrest a\natrest b\n```\n<!-- expect: A -->\n<!-- expect: B -->\n```sh skip\nq\n```\n```sh restart\ncargo run --release -p atrest -- serve --vault-alias localhost=demo\n```\n## Next\n```sh\nnot here\n```\n";
    let (section, first) = walkthrough_section(md);
    let b = blocks(&section, first);
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].script, "atrest a\natrest b\n");
    assert_eq!((b[0].exit, b[0].line), (5, 3));
    assert_eq!(b[0].expects, ["A", "B"]);
    assert!(b[1].skip);
    assert!(b[2].restart);
    assert_eq!(serve_args(&b[2]), ["--vault-alias", "localhost=demo"]);
}
