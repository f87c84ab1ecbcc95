//! One self-contained HTML page: a waterfall per trace, details on click, no network.

use serde_json::json;

use crate::view::{Trace, ms};

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tracewire: __TITLE__</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f7f8fa}
header{padding:12px 20px;background:#1d2430;color:#fff}
header h1{font-size:16px;margin:0}
.trace{margin:16px 20px;background:#fff;border:1px solid #dde1e7;border-radius:6px}
.trace h2{font-size:13px;margin:0;padding:8px 12px;border-bottom:1px solid #dde1e7;font-weight:600}
.trace h2 .err{color:#c62828}
.row{display:flex;align-items:center;height:24px;cursor:pointer;border-bottom:1px solid #f0f2f5}
.row:hover,.row.sel{background:#eef4ff}
.label{width:34%;min-width:220px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-left:8px}
.lane{position:relative;flex:1;height:14px;margin-right:12px}
.bar{position:absolute;top:0;height:14px;min-width:2px;border-radius:3px;background:#5c8fd6}
.bar.slow{background:#e39b25}.bar.error{background:#d9423a}
.dur{position:absolute;top:-1px;font-size:11px;color:#555;white-space:nowrap;padding-left:4px}
#details{position:fixed;right:0;top:0;bottom:0;width:380px;overflow:auto;background:#fff;border-left:1px solid #dde1e7;padding:12px;display:none;box-shadow:-2px 0 8px rgba(0,0,0,.08)}
#details pre{white-space:pre-wrap;word-break:break-all;font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px}
</style></head><body>
<header><h1>tracewire: __TITLE__</h1><div class="legend">
<span style="background:#5c8fd6"></span>span<span style="background:#e39b25"></span>slowest path<span style="background:#d9423a"></span>error</div></header>
<main id="traces"></main><aside id="details"></aside>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const main = document.getElementById("traces"), details = document.getElementById("details");
function el(tag, cls, text){const e=document.createElement(tag); if(cls) e.className=cls; if(text!==undefined) e.textContent=text; return e;}
for (const t of data.traces) {
  const box = el("section","trace"); const h = el("h2");
  h.append(el("span","", `${t.service} · ${t.duration} · ${t.spans.length} spans · trace ${t.id} `));
  if (t.errors) h.append(el("span","err", `${t.errors} error${t.errors>1?"s":""}`));
  box.append(h);
  for (const s of t.spans) {
    const row = el("div","row"); row.dataset.span = s.span_id;
    const label = el("div","label", s.name); label.style.paddingLeft = (8 + 16*s.depth) + "px";
    label.title = s.service; row.append(label);
    const lane = el("div","lane"); const bar = el("div","bar" + (s.error!==null?" error":"") + (s.slow?" slow":""));
    bar.style.left = s.offset_pct + "%"; bar.style.width = Math.max(s.width_pct, 0.2) + "%";
    lane.append(bar); const d = el("span","dur", s.duration); d.style.left = Math.min(s.offset_pct + s.width_pct, 92) + "%"; lane.append(d);
    row.append(lane);
    row.addEventListener("click", () => {
      document.querySelectorAll(".row.sel").forEach(r => r.classList.remove("sel")); row.classList.add("sel");
      details.style.display = "block"; details.replaceChildren();
      details.append(el("h3","", s.name), el("div","", `${s.kind} · ${s.service} · ${s.duration}`));
      if (s.error!==null) details.append(el("div","", "ERROR " + s.error));
      details.append(el("h4","", "attributes"), el("pre","", JSON.stringify(s.attributes, null, 2)));
      details.append(el("h4","", "events"), el("pre","", JSON.stringify(s.events, null, 2)));
    });
    box.append(row);
  }
  main.append(box);
}
document.body.dataset.rendered = String(document.querySelectorAll(".bar").length);
</script></body></html>
"#;

/// The page for these traces.
pub(crate) fn page(title: &str, traces: &[Trace]) -> String {
    let data = json!({
        "traces": traces.iter().map(|t| {
            let start = t.start();
            let total = t.duration().max(1) as f64;
            json!({
                "id": t.id,
                "service": t.order.first().map(|(i, _, _)| t.spans[*i].service.clone()).unwrap_or_default(),
                "duration": ms(t.duration()),
                "errors": t.errors(),
                "spans": t.order.iter().map(|(i, depth, _)| {
                    let s = &t.spans[*i];
                    json!({
                        "span_id": s.span_id,
                        "name": s.name,
                        "service": s.service,
                        "kind": s.kind,
                        "depth": depth,
                        "duration": ms(s.duration()),
                        "offset_pct": (s.start.saturating_sub(start)) as f64 * 100.0 / total,
                        "width_pct": s.duration() as f64 * 100.0 / total,
                        "error": s.error,
                        "slow": t.slowest_path.contains(i),
                        "attributes": s.attributes,
                        "events": s.events,
                    })
                }).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    });
    // JSON inside <script>: `</` would end the element early.
    let data = data.to_string().replace("</", "<\\/");
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let (head, tail) = PAGE
        .split_once("__DATA__")
        .expect("the template has one data slot");
    format!("{}{data}{tail}", head.replace("__TITLE__", &title))
}
