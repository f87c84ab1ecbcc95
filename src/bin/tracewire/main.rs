//! `tracewire`: look at recorded traces, check settings, replay a file sink to a collector.

mod html;
mod metrics;
mod send;
mod view;

use std::process::ExitCode;

const USAGE: &str = "usage:
  tracewire view FILE [--trace ID] [--errors] [--slowest N] [--service NAME] [--html OUT.html]
      print each trace in FILE (OTLP/JSON lines: tracewire's file sink or the OpenTelemetry
      Collector's file exporter) as a tree; --html writes a waterfall page instead; a metrics
      file (tracewire-metrics.jsonl) is summed up, one line per series
  tracewire config [--keys]
      print the effective settings and where each value came from (settings.toml + environment);
      --keys: every key with its default, environment variables and meaning
  tracewire send FILE --endpoint URL [--protocol grpc|http/protobuf]
      replay FILE to a collector (protocol: grpc for port 4317, else http/protobuf)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("view") => view_cmd(&args[1..]),
        Some("config") => config_cmd(&args[1..]),
        Some("send") => send_cmd(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracewire: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--flag value` pairs and bare flags after a positional FILE.
struct Args<'a> {
    file: Option<&'a str>,
    rest: &'a [String],
}

impl<'a> Args<'a> {
    fn new(args: &'a [String]) -> Args<'a> {
        match args.first() {
            Some(f) if !f.starts_with("--") => Args {
                file: Some(f),
                rest: &args[1..],
            },
            _ => Args {
                file: None,
                rest: args,
            },
        }
    }
    fn value(&self, flag: &str) -> Result<Option<&'a str>, String> {
        match self.rest.iter().position(|a| a == flag) {
            None => Ok(None),
            Some(i) => self
                .rest
                .get(i + 1)
                .map(|v| Some(v.as_str()))
                .ok_or_else(|| format!("{flag} needs a value")),
        }
    }
    fn flag(&self, flag: &str) -> bool {
        self.rest.iter().any(|a| a == flag)
    }
    fn check(&self, known: &[&str]) -> Result<(), String> {
        let mut i = 0;
        while i < self.rest.len() {
            let a = &self.rest[i];
            if !known.contains(&a.as_str()) {
                return Err(format!("unknown argument {a:?}\n{USAGE}"));
            }
            i += if ["--errors"].contains(&a.as_str()) {
                1
            } else {
                2
            };
        }
        Ok(())
    }
}

fn read(file: Option<&str>) -> Result<(String, String), String> {
    let file = file.ok_or_else(|| format!("a FILE is needed\n{USAGE}"))?;
    std::fs::read_to_string(file)
        .map(|t| (file.to_string(), t))
        .map_err(|e| format!("cannot read {file}: {e}"))
}

fn view_cmd(args: &[String]) -> Result<(), String> {
    let a = Args::new(args);
    a.check(&["--trace", "--errors", "--slowest", "--service", "--html"])?;
    let (file, text) = read(a.file)?;
    if metrics::is_metrics(&text) {
        print!("{}", metrics::summary(&text)?);
        return Ok(());
    }
    let mut traces = view::traces(view::parse(&text)?);
    if let Some(id) = a.value("--trace")? {
        traces.retain(|t| t.id.starts_with(id));
    }
    if a.flag("--errors") {
        traces.retain(|t| t.errors() > 0);
    }
    if let Some(service) = a.value("--service")? {
        traces.retain(|t| t.spans.iter().any(|s| s.service == service));
    }
    if let Some(n) = a.value("--slowest")? {
        let n: usize = n
            .parse()
            .map_err(|_| format!("--slowest takes a number, not {n:?}"))?;
        traces.sort_by_key(|t| std::cmp::Reverse(t.duration()));
        traces.truncate(n);
    }
    if let Some(out) = a.value("--html")? {
        std::fs::write(out, html::page(&file, &traces))
            .map_err(|e| format!("cannot write {out}: {e}"))?;
        println!("wrote {} trace(s) to {out}", traces.len());
        return Ok(());
    }
    if traces.is_empty() {
        println!("no trace matched in {file}");
    }
    print!("{}", view::render(&traces));
    Ok(())
}

fn config_cmd(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("--keys") => {
            print!("{}", tracewire::settings::Settings::keys());
            return Ok(());
        }
        Some(other) => return Err(format!("unknown option {other:?}\n{USAGE}")),
        None => {}
    }
    let settings = tracewire::settings::Settings::load().map_err(|e| e.to_string())?;
    println!("{}", settings.explain());
    Ok(())
}

fn send_cmd(args: &[String]) -> Result<(), String> {
    let a = Args::new(args);
    a.check(&["--endpoint", "--protocol"])?;
    let (_, text) = read(a.file)?;
    let endpoint = a
        .value("--endpoint")?
        .ok_or_else(|| format!("--endpoint URL is needed\n{USAGE}"))?;
    // The library's endpoint rule (port 4317 means gRPC, `/v1/traces` added to a bare host),
    // so that `send` goes where `init()` with the same endpoint would.
    let mut b = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(endpoint);
    if let Some(p) = a.value("--protocol")? {
        b = b.with_setting("otlp_protocol", p);
    }
    let (url, protocol) = match b.settings().map_err(|e| format!("{e}\n{USAGE}"))?.export {
        tracewire::settings::Export::Otlp { url, protocol } => match protocol {
            tracewire::settings::Protocol::Grpc => (url, send::Protocol::Grpc),
            _ => (url, send::Protocol::Http),
        },
        _ => return Err(format!("--endpoint {endpoint}: expected an http:// URL")),
    };
    let (requests, spans) = send::send(&text, &url, protocol)?;
    println!("sent {spans} span(s) in {requests} request(s) to {endpoint}");
    Ok(())
}
