use std::time::Duration;

use super::*;

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("lore.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn resolve(
    path: &Path,
    env: &[(&str, &str)],
    flags: &[Override],
) -> Result<Resolved, SettingsError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Resolved::resolve(
        path,
        false,
        |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
        flags,
    )
}

fn flag(name: &str, raw: &str) -> Override {
    Override {
        flag: *FLAGS.iter().find(|f| f.name == name).unwrap(),
        raw: raw.into(),
    }
}

#[test]
fn a_misspelt_section_is_refused_with_its_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "[llm]\ntop_k = 3\n\n[gaurd]\nmask_answers = true\n");
    let err = Settings::check_file(&path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`gaurd`") && text.contains(":4:"), "{text}");
    assert!(
        text.contains("expected one of") || text.contains("guard"),
        "{text}"
    );
    // Resolution (what `lore serve` runs) refuses it the same way.
    let err = resolve(&path, &[], &[]).unwrap_err().to_string();
    assert!(err.contains("`gaurd`"), "{err}");
}

#[test]
fn a_misspelt_key_and_a_wrong_type_are_named_by_dotted_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "[guard]\nmask_answer = true\n");
    let err = Settings::check_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("`guard.mask_answer`") && err.contains(":2:1"),
        "{err}"
    );
    let path = write(
        &dir,
        "[llm.openai]\nbase_url = 'http://x'\n\n[auth]\nenabled = 'yes'\n",
    );
    let err = Settings::check_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("`auth.enabled`") && err.contains(":5:"),
        "{err}"
    );
    let path = write(&dir, "[auth\n");
    assert!(matches!(
        Settings::check_file(&path),
        Err(SettingsError::Syntax { .. })
    ));
}

#[test]
fn later_layers_win_and_each_value_knows_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[chunking]\nchunk_tokens = 128\noverlap_tokens = 16\n[guard]\nmask_answers = true\n[server]\nrequest_timeout = '30s'\n",
    );
    let r = resolve(
        &path,
        &[("LORE_CHUNK_OVERLAP", "8"), ("LORE_AUTH", "off")],
        &[flag("chunk-tokens", "200"), flag("upload-wait", "500ms")],
    )
    .unwrap();
    let s = &r.settings;
    assert_eq!(s.chunking.chunk_tokens, 200);
    assert_eq!(s.chunking.overlap_tokens, 8);
    assert!(s.guard.mask_answers);
    assert!(!s.auth.enabled);
    assert_eq!(s.server.request_timeout, Duration::from_secs(30));
    assert_eq!(s.server.upload_wait, Duration::from_millis(500));
    assert_eq!(
        r.origin("chunking.chunk_tokens"),
        Origin::Flag("--chunk-tokens".into())
    );
    assert_eq!(
        r.origin("chunking.overlap_tokens"),
        Origin::Env("LORE_CHUNK_OVERLAP".into())
    );
    assert_eq!(r.origin("guard.mask_answers"), Origin::File(path.clone()));
    assert_eq!(r.origin("guard.mask_questions"), Origin::Default);
    let shown = r.show_toml();
    assert!(
        shown.contains("chunk_tokens = 200  # flag --chunk-tokens"),
        "{shown}"
    );
    assert!(
        shown.contains("mask_questions = true  # default"),
        "{shown}"
    );
}

#[test]
fn no_file_gives_the_defaults_and_a_required_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let r = resolve(&missing, &[], &[]).unwrap();
    assert_eq!(r.settings, Settings::default());
    assert!(r.file.is_none() && r.origins.is_empty());
    assert!(matches!(
        Resolved::resolve(&missing, true, |_| None, &[]),
        Err(SettingsError::Io { .. })
    ));
}

#[test]
fn a_bad_variable_or_flag_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.toml");
    let err = resolve(&none, &[("LORE_CACHE", "maybe")], &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LORE_CACHE") && err.contains("cache.enabled"),
        "{err}"
    );
    let err = resolve(&none, &[("LORE_EMBED_PRECISION", "f16")], &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LORE_EMBED_PRECISION") && err.contains("f16"),
        "{err}"
    );
    let err = resolve(&none, &[], &[flag("request-timeout", "soon")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--request-timeout"), "{err}");
    let err = resolve(&none, &[], &[flag("threads", "many")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--threads"), "{err}");
}

/// Every variable and flag names a setting that exists: a renamed field would otherwise
/// turn its variable into an "unknown key" error at start-up.
#[test]
fn every_variable_and_flag_sets_an_existing_setting() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.toml");
    let sample = |s: &Setting| -> &'static str {
        match (s.kind, s.path) {
            (Kind::Number, _) => "4",
            (Kind::Switch, _) => "on",
            (Kind::List, _) => "https://a.example",
            (Kind::SetsFalse, _) => "",
            (Kind::Text, "embedding.precision") => "int8",
            (Kind::Text, "llm.generator") => "openai",
            (Kind::Text, "server.bind") => "127.0.0.1:0",
            (Kind::Text, "server.request_timeout" | "server.upload_wait") => "5s",
            (Kind::Text, _) => "x",
        }
    };
    for var in ENV {
        let r = resolve(&none, &[(var.name, sample(var))], &[])
            .unwrap_or_else(|e| panic!("{}: {e}", var.name));
        assert_eq!(r.origin(var.path), Origin::Env(var.name.into()));
    }
    for f in FLAGS {
        let r = resolve(&none, &[], &[flag(f.name, sample(f))])
            .unwrap_or_else(|e| panic!("--{}: {e}", f.name));
        assert_ne!(
            r.settings,
            Settings::default(),
            "--{} changed nothing",
            f.name
        );
    }
}

#[test]
fn the_shown_settings_read_back_and_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[llm.openai]\napi_key = 'sk-secret'\n[cache.redis]\nurl = 'redis://:pw@127.0.0.1:6379'\n[prices.\"gpt-4.1-mini\"]\ninput_per_million = 0.4\n",
    );
    let r = resolve(&path, &[], &[]).unwrap();
    let shown = r.show_toml();
    assert!(
        !shown.contains("sk-secret") && !shown.contains(":pw@"),
        "{shown}"
    );
    let back: Settings = toml::from_str(&shown).unwrap();
    assert_eq!(back, r.settings.redacted());
    let json = r.show_json();
    assert_eq!(json["llm.openai.api_key"]["value"], "<redacted>");
    assert!(json["llm.openai.api_key"]["origin"]
        .as_str()
        .unwrap()
        .starts_with("file "));
}

#[test]
fn older_key_names_still_read_into_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[cache.answer]\nttl_secs = 1\n[llm.openai]\nread_timeout_ms = 1500\n[connections]\nheader_read_timeout_secs = 2\n",
    );
    let r = resolve(&path, &[], &[]).unwrap();
    assert_eq!(r.settings.cache.answer.ttl, Duration::from_secs(1));
    assert_eq!(
        r.settings.llm.openai.read_timeout,
        Duration::from_millis(1500)
    );
    assert_eq!(
        r.settings.connections.header_read_timeout,
        Duration::from_secs(2)
    );
    assert_eq!(r.origin("cache.answer.ttl"), Origin::File(path.clone()));
    assert_eq!(r.origin("cache.answer.max_bytes"), Origin::Default);
    let shown = r.show_toml();
    assert!(shown.contains("ttl = \"1s\""), "{shown}");
}
