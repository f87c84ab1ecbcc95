//! Every key, in one place each: the keys `explain()` resolves are exactly those `settings.toml`
//! documents and the README's configuration table lists, and each can be set in code with
//! `Builder::with_setting` (source `code`), with the value `settings.toml` shows.

use std::collections::BTreeSet;

use tracewire::settings::SettingValue;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn explained_keys() -> BTreeSet<String> {
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .settings()
        .unwrap()
        .explain()
        .to_string()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(" = ").next().unwrap().to_string())
        .collect()
}

/// `key = value` lines of settings.toml's [observability], commented out or not.
fn settings_toml() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{MANIFEST}/settings.toml")).unwrap();
    let table = text.split("[observability]").nth(1).unwrap();
    let table = table.split("\n[").next().unwrap();
    table
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches('#').trim();
            let (k, v) = l.split_once(" = ")?;
            k.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
                .then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn readme_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{MANIFEST}/README.md")).unwrap();
    let table = text
        .split("| key | standard variable | default | meaning |")
        .nth(1)
        .unwrap();
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('`').nth(1).unwrap().to_string())
        .collect()
}

/// A value of settings.toml's syntax as a `SettingValue`.
fn value(key: &str, toml: &str) -> SettingValue {
    if key.contains("certificate") || key.ends_with("client_key") {
        return "/etc/ssl/certs/ca-certificates.crt".into();
    }
    if key == "otlp_endpoint" {
        return "http://localhost:4317".into();
    }
    match toml {
        "true" => true.into(),
        "false" => false.into(),
        t if t.starts_with('"') => t.trim_matches('"').into(),
        t if t.starts_with('{') => vec![("k", "v")].into(),
        t if t.starts_with('[') => t
            .trim_matches(['[', ']'])
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect::<Vec<String>>()
            .into(),
        t if t.contains('.') => t.parse::<f64>().unwrap().into(),
        t => t.parse::<i64>().unwrap().into(),
    }
}

#[test]
fn settings_toml_readme_and_the_resolver_list_the_same_keys() {
    let explained = explained_keys();
    let documented: BTreeSet<String> = settings_toml()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k != "app_name" && k != "app_version")
        .collect();
    assert_eq!(documented, explained, "settings.toml vs the resolver");
    assert_eq!(readme_keys(), explained, "README's table vs the resolver");
    let table: BTreeSet<String> = tracewire::settings::Settings::keys()
        .to_string()
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(" = ").next().unwrap().to_string())
        .collect();
    assert_eq!(table, explained, "Settings::keys() vs the resolver");
}

#[test]
fn every_key_can_be_set_in_code() {
    let mut b = tracewire::builder().without_settings_file();
    let mut set = Vec::new();
    for (k, v) in settings_toml() {
        if k == "app_name" || k == "app_version" || set.contains(&k) {
            continue;
        }
        b = b.with_setting(&k, value(&k, &v));
        set.push(k);
    }
    let s = b.settings().unwrap();
    for k in &set {
        assert_eq!(s.source(k), Some(&tracewire::settings::Source::Code), "{k}");
    }
}
