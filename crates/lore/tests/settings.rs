//! Settings end to end through the binary: a misspelt section stops `lore config check`
//! and `lore serve` with its name and line; `lore config show` names each value's origin.
//! No model weights or servers are needed (settings are resolved before anything loads),
//! so `make test-fast` runs this file.

mod common;

use common::{lore, run};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_misspelt_section_fails_config_check_with_its_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lore.toml");
    std::fs::write(&file, "[llm]\ntop_k = 3\n\n[gaurd]\nmask_answers = true\n").unwrap();
    let out = run(lore(dir.path()).args(["config", "check"]).arg(&file));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`gaurd`") && err.contains("lore.toml:4:"),
        "{err}"
    );

    std::fs::write(&file, "[guard]\nmask_answers = true\n").unwrap();
    let out = run(lore(dir.path()).args(["config", "check"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn lore_serve_refuses_to_start_on_a_misspelt_section() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lore.toml"),
        "[gaurd]\nmask_answers = true\n",
    )
    .unwrap();
    let out = run(lore(dir.path()).args(["serve", "--bind", "127.0.0.1:0"]));
    assert!(!out.status.success(), "lore serve started with [gaurd]");
    let err = stderr(&out);
    assert!(err.contains("gaurd") && err.contains(":1:"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

#[test]
fn config_show_names_every_origin_and_a_bad_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lore.toml"),
        "[chunking]\nchunk_tokens = 128\n[server]\nrequest_timeout = '30s'\n",
    )
    .unwrap();
    let out = run(lore(dir.path())
        .args(["--chunk-overlap", "16", "config", "show", "--json"])
        .env("LORE_CACHE", "off"));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["chunking.chunk_tokens"]["value"], 128);
    assert!(v["chunking.chunk_tokens"]["origin"]
        .as_str()
        .unwrap()
        .starts_with("file "));
    assert_eq!(v["chunking.overlap_tokens"]["value"], 16);
    assert_eq!(
        v["chunking.overlap_tokens"]["origin"],
        "flag --chunk-overlap"
    );
    assert_eq!(v["cache.enabled"]["origin"], "env LORE_CACHE");
    assert_eq!(v["server.request_timeout"]["value"], "30s");
    assert_eq!(v["guard.mask_questions"]["origin"], "default");

    let out = run(lore(dir.path())
        .args(["config", "show"])
        .env("LORE_CHUNK_TOKENS", "lots"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("LORE_CHUNK_TOKENS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn flags_show_their_setting_default_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(lore(dir.path()).args(["serve", "--help"]));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("server.upload_wait") && help.contains("[default: 10s]"),
        "{help}"
    );
    assert!(help.contains("[env: LORE_BIND]"), "{help}");
}
